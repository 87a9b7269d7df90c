"""What becomes of each occurrence of a schedule: fired once or missed, then followed to its end.

The scheduler fires through `fire_due_schedule` and follows runs through
`follow_ended_runs`; `runScheduleNow` launches through `launch_schedule_run` too. Firing
locks the schedule row (`FOR UPDATE SKIP LOCKED`) and moves `next_execution_at` on in the
same transaction, and `(schedule_id, scheduled_for)` is unique, so however many schedulers
run, an occurrence fires once.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import FINAL_RUN_STATUSES, Role, RunStatus, ScheduleExecutionStatus
from models.enums import ScheduleStatus as Status
from models.runs import TestRun
from models.schedules import Schedule, ScheduleExecution
from models.tenancy import Project
from models.test_cases import TestCase
from resolvers.dispatch import RunDispatcher
from resolvers.errors import InvalidState, ResolverError
from resolvers.items import insert_test_run_items
from resolvers.recurrence import Recurrence, next_occurrence
from resolvers.run_inputs import MAX_ITEMS_PER_CALL, StartOptions, TestRunCreate
from resolvers.runs import create_test_run, start_test_run
from resolvers.tokens import Principal
from resolvers.validation import parse

logger = logging.getLogger(__name__)

# After a long downtime a frequent schedule has many missed occurrences: the most recent
# ones are recorded, the older ones only counted in the log.
MAX_MISSED_RECORDED = 1_000
# The scheduler acts for a schedule's creator; it holds no API token.
NO_TOKEN = uuid.UUID(int=0)
_OPEN = (ScheduleExecutionStatus.PENDING, ScheduleExecutionStatus.RUNNING)
_ENDED_AS = {
    RunStatus.COMPLETED: ScheduleExecutionStatus.COMPLETED,
    RunStatus.FAILED: ScheduleExecutionStatus.FAILED,
    RunStatus.CANCELLED: ScheduleExecutionStatus.CANCELLED,
}


def run_name(schedule: Schedule, at: datetime) -> str:
    """`Nightly Regression 2026-01-18 02:00`: the schedule's name and local date and time."""
    local = at.astimezone(ZoneInfo(schedule.timezone)).strftime("%Y-%m-%d %H:%M")
    return f"{schedule.schedule_name[: 254 - len(local)]} {local}"


def live_test_cases(project_id: uuid.UUID) -> Select[uuid.UUID]:
    """Ids of the project's test cases that are not deleted."""
    return select(TestCase.id).where(
        TestCase.project_id == project_id, TestCase.deleted_at.is_(None)
    )


async def schedule_test_cases(session: AsyncSession, *, schedule: Schedule) -> list[uuid.UUID]:
    """What the schedule runs now: its live test cases in its order, else its suite's by name."""
    live = live_test_cases(schedule.project_id)
    if schedule.test_case_ids:
        found = set(await session.scalars(live.where(TestCase.id.in_(schedule.test_case_ids))))
        return [test_case_id for test_case_id in schedule.test_case_ids if test_case_id in found]
    if not schedule.suite_path:
        return []
    prefix = len(schedule.suite_path)
    in_suite = live.where(TestCase.suite_path[1:prefix] == schedule.suite_path)
    return list(await session.scalars(in_suite.order_by(TestCase.name, TestCase.id)))


def acting_for(schedule: Schedule, tenant_id: str) -> Principal:
    """Who the scheduler is when it fires: the schedule's creator, allowed to run tests."""
    return Principal(
        token_id=NO_TOKEN,
        user_id=schedule.created_by,
        project_id=schedule.project_id,
        tenant_id=tenant_id,
        role=Role.EDITOR,
    )


async def launch_schedule_run(
    session: AsyncSession,
    *,
    principal: Principal,
    schedule: Schedule,
    scheduled_for: datetime,
    at: datetime,
    dispatcher: RunDispatcher,
) -> ScheduleExecution:
    """Create the schedule's run for `scheduled_for`, start it, and record it as running.

    The caller holds the schedule's row lock. The run is named after the schedule and the
    occurrence's local time and has the schedule's test cases, parallel and retry settings.
    INVALID_STATE when the schedule selects no live test case.
    """
    test_case_ids = await schedule_test_cases(session, schedule=schedule)
    if not test_case_ids:
        raise InvalidState("Cannot run schedule: it selects no live test cases")
    data = parse(
        TestRunCreate,
        {
            "run_name": run_name(schedule, scheduled_for),
            "suite_path": schedule.suite_path,
            "suite_name": schedule.suite_name,
            "parallel_enabled": schedule.parallel_enabled,
            "parallel_count": schedule.parallel_count,
            "retry_on_failure": schedule.retry_on_failure,
            "retry_count": schedule.retry_count,
            "priority": schedule.priority,
            "scheduled_at": scheduled_for,
        },
    )
    run, _ = await create_test_run(session, principal=principal, data=data)
    run.schedule_id = schedule.id
    for start in range(0, len(test_case_ids), MAX_ITEMS_PER_CALL):
        chunk = test_case_ids[start : start + MAX_ITEMS_PER_CALL]
        await insert_test_run_items(session, principal=principal, run=run, test_case_ids=chunk)
    execution = ScheduleExecution(
        schedule_id=schedule.id,
        test_run_id=run.id,
        scheduled_for=scheduled_for,
        executed_at=at,
        status=ScheduleExecutionStatus.RUNNING.value,
        total_tests=len(test_case_ids),
    )
    session.add(execution)
    schedule.last_executed_at = at
    schedule.last_execution_status = ScheduleExecutionStatus.RUNNING.value
    await session.flush()
    await start_test_run(
        session, principal=principal, run_id=run.id, options=StartOptions(), dispatcher=dispatcher
    )
    return execution


@dataclass(frozen=True, slots=True)
class Firing:
    """What firing one schedule did: the occurrence it fired and the ones it recorded missed.

    `status` is None when the occurrence was found already recorded and not fired again.
    """

    schedule_id: uuid.UUID
    scheduled_for: datetime
    status: ScheduleExecutionStatus | None
    test_run_id: uuid.UUID | None
    missed: int
    completed: bool


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Schedule.status == Status.ACTIVE,
        Schedule.is_enabled.is_(True),
        Schedule.next_execution_at <= now,
    ]


def _due_occurrences(schedule: Schedule, now: datetime) -> tuple[list[datetime], int]:
    """The most recent occurrences due by `now` (oldest first) and how many older ones are left out.

    The last one fires; the others were missed while no scheduler ran.
    """
    assert schedule.next_execution_at is not None
    recurrence = Recurrence.of(schedule)
    due: deque[datetime] = deque([schedule.next_execution_at], maxlen=MAX_MISSED_RECORDED + 1)
    count = 1
    while True:
        following = next_occurrence(recurrence, due[-1], fired=schedule.execution_count)
        if following is None or following > now:
            return list(due), count - len(due)
        due.append(following)
        count += 1


async def _record_missed(
    session: AsyncSession, schedule: Schedule, missed: Sequence[datetime]
) -> None:
    if not missed:
        return
    rows = [
        {
            "schedule_id": schedule.id,
            "scheduled_for": scheduled_for,
            "status": ScheduleExecutionStatus.MISSED.value,
            "error_message": "No scheduler was running; a later occurrence fired instead",
        }
        for scheduled_for in missed
    ]
    await session.execute(
        insert(ScheduleExecution)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["schedule_id", "scheduled_for"])
    )


async def _launch_or_fail(
    session: AsyncSession,
    *,
    principal: Principal,
    schedule: Schedule,
    scheduled_for: datetime,
    now: datetime,
    dispatcher: RunDispatcher,
) -> ScheduleExecution:
    """The occurrence's execution: running with its run, or failed saying why there is none.

    A schedule that cannot run (nothing left to run, a broken row) must not block the others,
    so the attempt is inside a SAVEPOINT and its error is recorded, not raised.
    """
    try:
        async with session.begin_nested():
            return await launch_schedule_run(
                session,
                principal=principal,
                schedule=schedule,
                scheduled_for=scheduled_for,
                at=now,
                dispatcher=dispatcher,
            )
    except ResolverError as error:
        message = error.message
    except Exception as error:
        logger.exception("schedule %s could not create its run", schedule.id)
        message = f"Could not create the run: {type(error).__name__}: {error}"
    execution = ScheduleExecution(
        schedule_id=schedule.id,
        scheduled_for=scheduled_for,
        executed_at=now,
        status=ScheduleExecutionStatus.FAILED.value,
        error_message=message[:10_000],
    )
    session.add(execution)
    schedule.last_executed_at = now
    schedule.last_execution_status = ScheduleExecutionStatus.FAILED.value
    await session.flush()
    return execution


async def fire_due_schedule(
    session: AsyncSession, *, now: datetime, dispatcher: RunDispatcher
) -> Firing | None:
    """Fire the due schedule that has waited longest and that no one else holds; None if none.

    Its latest due occurrence fires (a run is created and started), earlier due ones are
    recorded `missed`; `execution_count` counts the fired one, and `next_execution_at` moves
    to the next occurrence after it, or the schedule completes when there is none.
    """
    found = (
        await session.execute(
            select(Schedule, Project.tenant_id)
            .join(Project, Project.id == Schedule.project_id)
            .where(*_due(now))
            .order_by(Schedule.next_execution_at)
            .limit(1)
            .with_for_update(of=Schedule, skip_locked=True)
        )
    ).one_or_none()
    if found is None:
        return None
    schedule, tenant_id = found
    due, left_out = _due_occurrences(schedule, now)
    *missed, scheduled_for = due
    if left_out:
        logger.warning(
            "schedule %s: %d older missed occurrences not recorded", schedule.id, left_out
        )
    await _record_missed(session, schedule, missed)
    execution = None
    if await _recorded(session, schedule.id, scheduled_for):
        # Only a clash with runScheduleNow at that very microsecond (or a hand-edited row).
        logger.warning("schedule %s: %s is already recorded", schedule.id, scheduled_for)
    else:
        execution = await _launch_or_fail(
            session,
            principal=acting_for(schedule, tenant_id),
            schedule=schedule,
            scheduled_for=scheduled_for,
            now=now,
            dispatcher=dispatcher,
        )
        schedule.execution_count += 1
    schedule.next_execution_at = next_occurrence(
        Recurrence.of(schedule), scheduled_for, fired=schedule.execution_count
    )
    if schedule.next_execution_at is None:
        schedule.status = Status.COMPLETED.value
    await session.flush()
    return Firing(
        schedule_id=schedule.id,
        scheduled_for=scheduled_for,
        status=None if execution is None else ScheduleExecutionStatus(execution.status),
        test_run_id=None if execution is None else execution.test_run_id,
        missed=len(missed) + left_out,
        completed=schedule.status == Status.COMPLETED,
    )


async def _recorded(session: AsyncSession, schedule_id: uuid.UUID, at: datetime) -> bool:
    found = await session.scalar(
        select(ScheduleExecution.id).where(
            ScheduleExecution.schedule_id == schedule_id, ScheduleExecution.scheduled_for == at
        )
    )
    return found is not None


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the next active, enabled schedule is due (maybe already), or None."""
    return await session.scalar(
        select(func.min(Schedule.next_execution_at)).where(
            Schedule.status == Status.ACTIVE, Schedule.is_enabled.is_(True)
        )
    )


@dataclass(frozen=True, slots=True)
class EndedExecution:
    """A schedule execution whose run has ended: how it went, and who is told."""

    execution_id: uuid.UUID
    schedule_id: uuid.UUID
    schedule_name: str
    project_id: uuid.UUID
    scheduled_for: datetime
    status: ScheduleExecutionStatus
    test_run_id: uuid.UUID | None
    run_name: str | None
    run_number: int | None
    total_tests: int
    passed_tests: int
    failed_tests: int
    skipped_tests: int
    pass_rate: Decimal
    duration_ms: int
    error_message: str | None
    notify_on_completion: bool
    notify_on_failure: bool
    notification_emails: tuple[str, ...]
    webhook_url: str | None
    webhook_secret: str | None

    @property
    def failed(self) -> bool:
        """The run failed, or a test case in it did."""
        return self.status is ScheduleExecutionStatus.FAILED or self.failed_tests > 0

    @property
    def email_recipients(self) -> tuple[str, ...]:
        """Who gets an email: everyone listed on any end (completion), or only on failure."""
        if self.notify_on_completion or (self.notify_on_failure and self.failed):
            return self.notification_emails
        return ()


def _ended(execution: ScheduleExecution, run: TestRun | None) -> None:
    """Copy the run's outcome onto its execution (a deleted run: cancelled)."""
    if run is None:
        execution.status = ScheduleExecutionStatus.CANCELLED.value
        execution.error_message = "The run was deleted before it ended"
        return
    execution.status = _ENDED_AS[RunStatus(run.status)].value
    execution.total_tests = run.total_tests
    execution.passed_tests = run.passed_tests
    execution.failed_tests = run.failed_tests
    execution.duration_ms = run.duration_ms
    if run.status == RunStatus.FAILED:
        execution.error_message = "The run failed: its test cases could not be executed"


async def follow_ended_runs(session: AsyncSession, *, limit: int = 50) -> list[EndedExecution]:
    """Record the end of up to `limit` runs that ended since last looked, whoever ended them.

    Open executions whose run is final are claimed with `FOR UPDATE SKIP LOCKED` and closed
    in the caller's transaction, so each is handled once even with several schedulers; the
    schedule's `last_execution_status` follows when the execution is its latest.
    """
    rows = (
        await session.execute(
            select(ScheduleExecution, TestRun, Schedule, Project)
            .join(Schedule, Schedule.id == ScheduleExecution.schedule_id)
            .join(Project, Project.id == Schedule.project_id)
            .outerjoin(TestRun, TestRun.id == ScheduleExecution.test_run_id)
            .where(
                ScheduleExecution.status.in_(_OPEN),
                or_(TestRun.id.is_(None), TestRun.status.in_(FINAL_RUN_STATUSES)),
            )
            .order_by(ScheduleExecution.created_at)
            .limit(limit)
            .with_for_update(of=ScheduleExecution, skip_locked=True)
        )
    ).all()
    ended = []
    for execution, run, schedule, project in rows:
        _ended(execution, run)
        await session.execute(
            update(Schedule)
            .where(
                Schedule.id == schedule.id,
                Schedule.last_executed_at == execution.executed_at,
            )
            .values(last_execution_status=execution.status)
        )
        ended.append(_describe(execution, run, schedule, project))
    await session.flush()
    return ended


def _describe(
    execution: ScheduleExecution, run: TestRun | None, schedule: Schedule, project: Project
) -> EndedExecution:
    return EndedExecution(
        execution_id=execution.id,
        schedule_id=schedule.id,
        schedule_name=schedule.schedule_name,
        project_id=project.id,
        scheduled_for=execution.scheduled_for,
        status=ScheduleExecutionStatus(execution.status),
        test_run_id=None if run is None else run.id,
        run_name=None if run is None else run.run_name,
        run_number=None if run is None else run.run_number,
        total_tests=execution.total_tests,
        passed_tests=execution.passed_tests,
        failed_tests=execution.failed_tests,
        skipped_tests=0 if run is None else run.skipped_tests,
        pass_rate=Decimal(0) if run is None else run.pass_rate,
        duration_ms=execution.duration_ms,
        error_message=execution.error_message,
        notify_on_completion=schedule.notify_on_completion,
        notify_on_failure=schedule.notify_on_failure,
        notification_emails=tuple(schedule.notification_emails or ()),
        webhook_url=project.webhook_url,
        webhook_secret=project.webhook_secret,
    )
