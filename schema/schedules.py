"""GraphQL types, inputs and root fields of schedules and their execution history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry

from models import enums
from models import schedules as rows
from resolvers import schedule_inputs, schedules
from resolvers.validation import PageInput, parse
from schema.context import Info
from schema.conversion import input_data
from schema.enums import RepeatType, RepeatUnit, ScheduleExecutionStatus, ScheduleStatus
from schema.scalars import Long

WALL_CLOCK = (
    "wall-clock date and time in `timezone`, whatever offset it is written with; "
    "returned labelled UTC (02:00:00Z in America/New_York means 02:00 New York time)"
)


@strawberry.type(description="One occurrence of a schedule: when it was due and what it ran.")
class ScheduleExecution:
    """GraphQL view of a schedule execution."""

    id: uuid.UUID = strawberry.field(description="Execution id.")
    schedule_id: uuid.UUID = strawberry.field(description="Schedule that fired.")
    test_run_id: uuid.UUID | None = strawberry.field(
        description="Run it created; null if none was (missed) or the run was deleted."
    )
    scheduled_for: datetime = strawberry.field(description="The occurrence it stands for.")
    executed_at: datetime | None = strawberry.field(description="When the run was created.")
    status: enums.ScheduleExecutionStatus = strawberry.field(description="What became of it.")
    total_tests: int = strawberry.field(description="Test cases in the run.")
    passed_tests: int = strawberry.field(description="Test cases that passed.")
    failed_tests: int = strawberry.field(description="Test cases that failed.")
    duration_ms: Long = strawberry.field(description="How long the run took, in milliseconds.")
    error_message: str | None = strawberry.field(description="Why it failed, if it did.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.ScheduleExecution) -> ScheduleExecution:
        """Build from the ORM row."""
        return cls(
            id=row.id,
            schedule_id=row.schedule_id,
            test_run_id=row.test_run_id,
            scheduled_for=row.scheduled_for,
            executed_at=row.executed_at,
            status=ScheduleExecutionStatus(row.status),
            total_tests=row.total_tests,
            passed_tests=row.passed_tests,
            failed_tests=row.failed_tests,
            duration_ms=Long(row.duration_ms),
            error_message=row.error_message,
            created_at=row.created_at,
        )


@strawberry.type(description="A planned run of a suite or of chosen test cases, once or recurring.")
class Schedule:
    """GraphQL view of a schedule."""

    id: uuid.UUID = strawberry.field(description="Schedule id.")
    project_id: uuid.UUID = strawberry.field(description="Project it belongs to.")
    created_by: uuid.UUID = strawberry.field(description="User who created it.")
    schedule_name: str = strawberry.field(description="Name; runs are named after it.")
    suite_path: list[str] | None = strawberry.field(
        description="Suite it runs: every live test case under this folder path."
    )
    suite_name: str | None = strawberry.field(description="Name of that suite.")
    test_case_ids: list[uuid.UUID] | None = strawberry.field(
        description="Test cases it runs, in order; when set, instead of the suite's."
    )
    scheduled_datetime: datetime = strawberry.field(
        description=f"First occurrence: a {WALL_CLOCK}."
    )
    timezone: str = strawberry.field(description="IANA time zone it repeats in.")
    repeat_type: enums.RepeatType = strawberry.field(description="How it recurs.")
    repeat_interval: int | None = strawberry.field(description="CUSTOM: every N repeatUnits.")
    repeat_unit: enums.RepeatUnit | None = strawberry.field(
        description="CUSTOM: unit of the interval."
    )
    repeat_days_of_week: list[int] | None = strawberry.field(
        description="WEEKLY: ISO weekdays it fires on, Monday = 1 ... Sunday = 7."
    )
    repeat_day_of_month: int | None = strawberry.field(
        description="MONTHLY: day it fires on, the month's last day in shorter months."
    )
    repeat_end_date: datetime | None = strawberry.field(
        description=f"Nothing fires after this {WALL_CLOCK}."
    )
    max_occurrences: int | None = strawberry.field(
        description="Nothing fires once it has fired this many times."
    )
    status: enums.ScheduleStatus = strawberry.field(description="Whether it fires.")
    is_enabled: bool = strawberry.field(description="Disabled schedules do not fire.")
    parallel_enabled: bool = strawberry.field(description="Its runs execute items in parallel.")
    parallel_count: int = strawberry.field(description="Items its runs execute at once (1-10).")
    retry_on_failure: bool = strawberry.field(description="Its runs retry failed items.")
    retry_count: int = strawberry.field(description="Retries per failed item (0-10).")
    priority: int = strawberry.field(description="Priority of the runs it fires (default 0).")
    notify_on_completion: bool = strawberry.field(description="Email when a run completes.")
    notify_on_failure: bool = strawberry.field(description="Email when a run fails.")
    notification_emails: list[str] | None = strawberry.field(description="Who gets the emails.")
    execution_count: int = strawberry.field(description="How many times it has fired.")
    last_executed_at: datetime | None = strawberry.field(description="When it last fired.")
    last_execution_status: str | None = strawberry.field(
        description="How its last execution ended."
    )
    next_execution_at: datetime | None = strawberry.field(
        description="Next occurrence due; null unless active (or when nothing is left)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="Its executions, newest first (limit at most 100).")
    async def history(
        self, info: Info, limit: int = 20, offset: int = 0
    ) -> list[ScheduleExecution]:
        """A page of this schedule's executions, batched across schedules."""
        page = parse(PageInput, {"limit": limit, "offset": offset})
        loader = info.context.loader(schedules.load_schedule_histories)
        found = await loader.load((self.id, page.limit, page.offset))
        return [ScheduleExecution.from_model(row) for row in found]

    @classmethod
    def from_model(cls, row: rows.Schedule) -> Schedule:
        """Build from the ORM row."""
        return cls(
            id=row.id,
            project_id=row.project_id,
            created_by=row.created_by,
            schedule_name=row.schedule_name,
            suite_path=row.suite_path,
            suite_name=row.suite_name,
            test_case_ids=row.test_case_ids,
            scheduled_datetime=row.scheduled_datetime,
            timezone=row.timezone,
            repeat_type=RepeatType(row.repeat_type),
            repeat_interval=row.repeat_interval,
            repeat_unit=None if row.repeat_unit is None else RepeatUnit(row.repeat_unit),
            repeat_days_of_week=row.repeat_days_of_week,
            repeat_day_of_month=row.repeat_day_of_month,
            repeat_end_date=row.repeat_end_date,
            max_occurrences=row.max_occurrences,
            status=ScheduleStatus(row.status),
            is_enabled=row.is_enabled,
            parallel_enabled=row.parallel_enabled,
            parallel_count=row.parallel_count,
            retry_on_failure=row.retry_on_failure,
            retry_count=row.retry_count,
            priority=row.priority,
            notify_on_completion=row.notify_on_completion,
            notify_on_failure=row.notify_on_failure,
            notification_emails=row.notification_emails,
            execution_count=row.execution_count,
            last_executed_at=row.last_executed_at,
            last_execution_status=row.last_execution_status,
            next_execution_at=row.next_execution_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One page of schedules.")
class SchedulePage:
    """A page of schedules with the total count."""

    items: list[Schedule] = strawberry.field(description="The schedules of this page.")
    total: int = strawberry.field(description="How many match in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


def _unset(description: str) -> Any:
    return strawberry.field(default=strawberry.UNSET, description=description)


@strawberry.input(description="Fields of a schedule; on update, only those given change.")
class ScheduleInput:
    """Input of createSchedule and updateSchedule."""

    schedule_name: str | None = _unset("Name (required on create).")
    suite_path: list[str] | None = _unset("Suite to run; this or testCaseIds is required.")
    suite_name: str | None = _unset("Name of that suite.")
    test_case_ids: list[uuid.UUID] | None = _unset("Test cases to run, in order, no repeats.")
    scheduled_datetime: datetime | None = _unset(
        f"First occurrence (required on create): a {WALL_CLOCK}."
    )
    timezone: str | None = _unset("IANA time zone, e.g. Europe/Berlin (default UTC).")
    repeat_type: enums.RepeatType | None = _unset("How it recurs (default NONE: once).")
    repeat_interval: int | None = _unset("CUSTOM only, required: every N repeatUnits (>= 1).")
    repeat_unit: enums.RepeatUnit | None = _unset("CUSTOM only, required: MINUTES, HOURS or DAYS.")
    repeat_days_of_week: list[int] | None = _unset(
        "WEEKLY only, required: ISO weekdays, Monday = 1 ... Sunday = 7, no repeats."
    )
    repeat_day_of_month: int | None = _unset(
        "MONTHLY only, required: 1-31, the last day in shorter months."
    )
    repeat_end_date: datetime | None = _unset(f"Repeating only: nothing after this {WALL_CLOCK}.")
    max_occurrences: int | None = _unset("Repeating only: fire at most this many times.")
    is_enabled: bool | None = _unset("Whether it fires (default true).")
    parallel_enabled: bool | None = _unset("Run items in parallel (default false).")
    parallel_count: int | None = _unset("Items at once, 1-10 (default 1).")
    retry_on_failure: bool | None = _unset("Retry failed items (default false).")
    retry_count: int | None = _unset("Retries per failed item, 0-10 (default 0).")
    priority: int | None = _unset(
        "Priority of its runs, -1000 to 1000 (default 0): higher is served first."
    )
    notify_on_completion: bool | None = _unset("Email when a run completes (default true).")
    notify_on_failure: bool | None = _unset("Email when a run fails (default true).")
    notification_emails: list[str] | None = _unset("Addresses to email, at most 50.")


@strawberry.input(description="Which schedules to list; every condition given must hold.")
class ScheduleFilter:
    """Filter of the schedules query."""

    status: enums.ScheduleStatus | None = _unset("Only schedules in this status.")
    is_enabled: bool | None = _unset("Only enabled (or only disabled) schedules.")
    repeat_type: enums.RepeatType | None = _unset("Only schedules that recur this way.")
    from_date: str | None = _unset(
        "Next execution on or after: a date (2026-01-31, from 00:00 UTC) or a date-time "
        "with an offset."
    )
    to_date: str | None = _unset(
        "Next execution on or before: a date (2026-01-31, the whole UTC day) or a date-time "
        "with an offset."
    )


def _page(found: Sequence[rows.Schedule], total: int, page: PageInput) -> SchedulePage:
    return SchedulePage(
        items=[Schedule.from_model(row) for row in found],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@strawberry.type
class ScheduleQuery:
    """Schedule fields of the Query root."""

    @strawberry.field(description="The project's schedules, soonest next execution first.")
    async def schedules(
        self, info: Info, filter: ScheduleFilter | None = None, limit: int = 20, offset: int = 0
    ) -> SchedulePage:
        """List schedules."""
        given = input_data(filter) if filter is not None else {}
        query = parse(schedule_inputs.ScheduleFilter, {**given, "limit": limit, "offset": offset})
        async with info.context.session() as session:
            found, total = await schedules.read_schedules(
                session, principal=info.context.principal, query=query
            )
        return _page(found, total, query)

    @strawberry.field(description="One schedule of the project.")
    async def schedule(self, info: Info, id: uuid.UUID) -> Schedule:
        """Read a schedule."""
        async with info.context.session() as session:
            row = await schedules.read_schedule(
                session, principal=info.context.principal, schedule_id=id
            )
        return Schedule.from_model(row)

    @strawberry.field(
        description="Schedules due to run: active, enabled, next execution passed; oldest first."
    )
    async def pending_schedules(self, info: Info, limit: int = 20, offset: int = 0) -> SchedulePage:
        """List due schedules."""
        page = parse(PageInput, {"limit": limit, "offset": offset})
        async with info.context.session() as session:
            found, total = await schedules.read_pending_schedules(
                session, principal=info.context.principal, page=page
            )
        return _page(found, total, page)


@strawberry.type
class ScheduleMutation:
    """Schedule fields of the Mutation root."""

    @strawberry.mutation(description="Create an active schedule, due at its next occurrence.")
    async def create_schedule(self, info: Info, input: ScheduleInput) -> Schedule:
        """Create a schedule."""
        data = parse(schedule_inputs.ScheduleCreate, input_data(input))
        async with info.context.transaction() as session:
            row = await schedules.create_schedule(
                session, principal=info.context.principal, data=data
            )
        return Schedule.from_model(row)

    @strawberry.mutation(
        description="Change a schedule; fields left out stay. New timing recomputes "
        "nextExecutionAt; repeat fields a new repeatType does not use are cleared."
    )
    async def update_schedule(self, info: Info, id: uuid.UUID, input: ScheduleInput) -> Schedule:
        """Update a schedule."""
        data = parse(schedule_inputs.ScheduleFields, input_data(input))
        async with info.context.transaction() as session:
            row = await schedules.update_schedule(
                session, principal=info.context.principal, schedule_id=id, data=data
            )
        return Schedule.from_model(row)

    @strawberry.mutation(description="Delete a schedule and its history (its runs stay).")
    async def delete_schedule(self, info: Info, id: uuid.UUID) -> Schedule:
        """Delete a schedule."""
        async with info.context.transaction() as session:
            row = await schedules.delete_schedule(
                session, principal=info.context.principal, schedule_id=id
            )
        return Schedule.from_model(row)

    @strawberry.mutation(description="Stop an ACTIVE schedule from firing until resumed.")
    async def pause_schedule(self, info: Info, id: uuid.UUID) -> Schedule:
        """Pause a schedule."""
        async with info.context.transaction() as session:
            row = await schedules.pause_schedule(
                session, principal=info.context.principal, schedule_id=id
            )
        return Schedule.from_model(row)

    @strawberry.mutation(
        description="Let a PAUSED schedule fire again from its next occurrence after now "
        "(missed ones are skipped); COMPLETED if it has none left."
    )
    async def resume_schedule(self, info: Info, id: uuid.UUID) -> Schedule:
        """Resume a schedule."""
        async with info.context.transaction() as session:
            row = await schedules.resume_schedule(
                session, principal=info.context.principal, schedule_id=id
            )
        return Schedule.from_model(row)

    @strawberry.mutation(
        description="Create the schedule's run now and start it, whatever its status; the "
        "execution is recorded in its history (not counted against maxOccurrences)."
    )
    async def run_schedule_now(self, info: Info, id: uuid.UUID) -> ScheduleExecution:
        """Run a schedule now."""
        async with info.context.transaction() as session:
            row = await schedules.run_schedule_now(
                session,
                principal=info.context.principal,
                schedule_id=id,
                dispatcher=info.context.dispatcher,
            )
        return ScheduleExecution.from_model(row)
