"""Test runs: creating and numbering them, listing them, and their life from pending to final."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.database import after_commit
from models.enums import FINAL_ITEM_STATUSES, FINAL_RUN_STATUSES, Executor, ItemStatus, RunStatus
from models.runs import TestRun, TestRunItem
from models.tenancy import Project
from models.test_cases import TestCase
from resolvers.access import require_writer
from resolvers.dispatch import RunDispatcher
from resolvers.errors import InvalidState, NotFound, ValidationFailed
from resolvers.events import append_run_event
from resolvers.items import insert_test_run_items, recount_test_run
from resolvers.run_inputs import (
    RunExecution,
    RunSortField,
    SortOrder,
    StartOptions,
    TestRunCreate,
    TestRunFilter,
    TestRunUpdate,
)
from resolvers.run_locks import lock_test_run, require_pending, scoped_runs
from resolvers.tokens import Principal

# The rest of a run's configuration says how it executes: it may change only before it starts.
# Priority too: raising it serves a run's waiting items sooner.
ANY_TIME_FIELDS = frozenset({"run_name", "tags", "notes", "priority"})
# What a rerun copies from the run it reruns.
COPIED_FIELDS = (
    "suite_path",
    "suite_name",
    "parallel_enabled",
    "parallel_count",
    "retry_on_failure",
    "retry_count",
    "browser_name",
    "browser_version",
    "os_name",
    "os_version",
    "viewport_width",
    "viewport_height",
    "tags",
    "executor",
    "priority",
)
RERUN_SUFFIX = " (rerun)"

SORT_COLUMNS = {
    RunSortField.CREATED_AT: TestRun.created_at,
    RunSortField.STARTED_AT: TestRun.started_at,
    RunSortField.PASS_RATE: TestRun.pass_rate,
}


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _lock_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    # Serializes run creation per project (run_number, idempotency key). NO KEY UPDATE, not
    # UPDATE, so inserts elsewhere referencing the project (FOR KEY SHARE) are not blocked.
    await session.execute(
        select(Project.id).where(Project.id == project_id).with_for_update(key_share=True)
    )


async def _insert_run(session: AsyncSession, *, principal: Principal, **columns: Any) -> TestRun:
    """A pending run numbered after the project's last one; the caller holds the project lock."""
    last = await session.scalar(
        select(func.coalesce(func.max(TestRun.run_number), 0)).where(
            TestRun.project_id == principal.project_id
        )
    )
    run = TestRun(
        project_id=principal.project_id,
        created_by=principal.user_id,
        run_number=(last or 0) + 1,
        **columns,
    )
    session.add(run)
    await session.flush()
    return run


def _idempotency_key(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= 255:
        raise ValidationFailed.of("idempotency_key", "Must be 1 to 255 characters")
    return value


async def create_test_run(
    session: AsyncSession,
    *,
    principal: Principal,
    data: TestRunCreate,
    idempotency_key: str | None = None,
) -> tuple[TestRun, bool]:
    """A new pending run numbered 1, 2, ... per project, and whether it was created.

    With `idempotency_key`, a repeat (also a concurrent one) returns the run the key made
    first and False, whatever the rest of the request says.
    """
    require_writer(principal)
    key = _idempotency_key(idempotency_key)
    await _lock_project(session, principal.project_id)
    if key is not None:
        existing = await session.scalar(
            scoped_runs(principal).where(TestRun.idempotency_key == key)
        )
        if existing is not None:
            return existing, False
    columns = data.model_dump(exclude_unset=True, exclude={"test_case_ids"})
    run = await _insert_run(session, principal=principal, idempotency_key=key, **columns)
    if data.test_case_ids:
        await insert_test_run_items(
            session, principal=principal, run=run, test_case_ids=data.test_case_ids
        )
    await append_run_event(
        session, run_id=run.id, type="run.created", payload={"status": run.status}
    )
    return run, True


# `scoped_runs` built once, as every read of a run runs it (see `batches.batch_rows`).
_RUN = select(TestRun).where(
    TestRun.project_id == bindparam("project_id"), TestRun.id == bindparam("run_id")
)


async def read_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> TestRun:
    """The caller's project's run, or NotFound."""
    run = await session.scalar(_RUN, {"project_id": principal.project_id, "run_id": run_id})
    if run is None:
        raise NotFound.of("Test run", run_id)
    return run


async def read_test_runs(
    session: AsyncSession, *, principal: Principal, query: TestRunFilter
) -> tuple[Sequence[TestRun], int]:
    """One page of the project's runs and how many match in all (newest first by default)."""
    statement = scoped_runs(principal)
    if query.status:
        statement = statement.where(TestRun.status.in_(query.status))
    if query.suite_path:
        prefix = len(query.suite_path)
        statement = statement.where(TestRun.suite_path[1:prefix] == query.suite_path)
    if query.from_date is not None:
        start = query.from_date
        if not isinstance(start, datetime):
            start = _utc_start(start)
        statement = statement.where(TestRun.created_at >= start)
    if query.to_date is not None:
        if isinstance(query.to_date, datetime):
            statement = statement.where(TestRun.created_at <= query.to_date)
        else:
            next_day = _utc_start(query.to_date + timedelta(days=1))
            statement = statement.where(TestRun.created_at < next_day)
    if query.created_by is not None:
        statement = statement.where(TestRun.created_by == query.created_by)
    if query.tags:
        statement = statement.where(TestRun.tags.contains(query.tags))
    if query.search:
        statement = statement.where(TestRun.run_name.icontains(query.search, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    column = SORT_COLUMNS[query.sort_by]
    if query.sort_order is SortOrder.ASC:
        order = (column.asc().nulls_last(), TestRun.id.asc())
    else:
        order = (column.desc().nulls_last(), TestRun.id.desc())
    rows = await session.scalars(statement.order_by(*order).limit(query.limit).offset(query.offset))
    return rows.all(), int(total or 0)


async def update_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID, data: TestRunUpdate
) -> TestRun:
    """Change the fields `data` sets: name, tags and notes any time, the rest while pending."""
    require_writer(principal)
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    values = data.model_dump(exclude_unset=True)
    if set(values) - ANY_TIME_FIELDS:
        require_pending(run, "change the configuration of test run")
    if not values:
        return run
    for name, value in values.items():
        setattr(run, name, value)
    await session.flush()
    await append_run_event(
        session, run_id=run.id, type="run.updated", payload={"fields": sorted(values)}
    )
    return run


async def delete_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> uuid.UUID:
    """Delete a run that is not executing; its items and results go with it."""
    require_writer(principal)
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    if run.status in (RunStatus.RUNNING, RunStatus.QUEUED):
        raise InvalidState.of("delete test run", run.status)
    await session.execute(delete(TestRun).where(TestRun.id == run.id))
    return run.id


async def _move(
    session: AsyncSession,
    run: TestRun,
    *,
    action: str,
    allowed: Collection[RunStatus],
    to: RunStatus,
    **values: Any,
) -> None:
    """Change the locked run's status with an UPDATE that only applies from `allowed`."""
    moved = await session.scalar(
        update(TestRun)
        .where(TestRun.id == run.id, TestRun.status.in_(allowed))
        .values(status=to, updated_at=datetime.now(UTC), **values)
        .returning(TestRun.id)
    )
    if moved is None:
        raise InvalidState.of(action, run.status)


def _test_cases(count: int) -> str:
    return f"{count} test case" if count == 1 else f"{count} test cases"


async def start_test_run(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    options: StartOptions,
    dispatcher: RunDispatcher,
) -> tuple[TestRun, str]:
    """Set a pending run running and its items queued; server runs go to the workers on commit.

    Returns the run and a message such as "Test run started with 3 test cases".
    """
    require_writer(principal)
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    require_pending(run, "start test run")
    now = datetime.now(UTC)
    queued = await session.scalars(
        update(TestRunItem)
        .where(TestRunItem.test_run_id == run.id, TestRunItem.status == ItemStatus.PENDING)
        .values(status=ItemStatus.QUEUED, updated_at=now)
        .returning(TestRunItem.id)
        .execution_options(synchronize_session=False)
    )
    count = len(queued.all())
    if count == 0:
        raise InvalidState("Cannot start test run: it has no test cases; add some first")
    await _move(
        session,
        run,
        action="start test run",
        allowed=[RunStatus.PENDING],
        to=RunStatus.RUNNING,
        started_at=now,
        current_item_index=None,
        **options.model_dump(exclude_unset=True),
    )
    await append_run_event(
        session,
        run_id=run.id,
        type="run.started",
        payload={"status": RunStatus.RUNNING.value, "queued_items": count},
    )
    if run.executor == Executor.SERVER:
        after_commit(session, functools.partial(dispatcher.run_started, run.id))
    return run, f"Test run started with {_test_cases(count)}"


async def execute_test_run(
    session: AsyncSession,
    *,
    principal: Principal,
    data: RunExecution,
    dispatcher: RunDispatcher,
) -> tuple[TestRun, str]:
    """runs-execute.md's `POST /api/runs/execute`: start the run as `start_test_run` does.

    A tenant other than the caller's project's, or a run id that is not one of its runs,
    is NotFound for the run: the caller learns nothing about other tenants.
    """
    try:
        run_id = uuid.UUID(data.run_id)
    except ValueError:
        raise NotFound.of("Test run", data.run_id) from None
    if data.tenant_id != principal.tenant_id:
        raise NotFound.of("Test run", run_id)
    return await start_test_run(
        session, principal=principal, run_id=run_id, options=StartOptions(), dispatcher=dispatcher
    )


async def _cancel(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    action: str,
    allowed: Collection[RunStatus],
) -> TestRun:
    require_writer(principal)
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    if run.status not in allowed:
        raise InvalidState.of(action, run.status)
    previous = RunStatus(run.status)
    now = datetime.now(UTC)
    await session.execute(
        update(TestRunItem)
        .where(
            TestRunItem.test_run_id == run.id,
            TestRunItem.status.not_in(FINAL_ITEM_STATUSES),
        )
        .values(
            status=ItemStatus.SKIPPED,
            # An item that was executing ended now; the others never started.
            completed_at=case(
                (TestRunItem.status == ItemStatus.RUNNING, now), else_=TestRunItem.completed_at
            ),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    duration = now - run.started_at if run.started_at else timedelta()
    await _move(
        session,
        run,
        action=action,
        allowed=allowed,
        to=RunStatus.CANCELLED,
        completed_at=now,
        duration_ms=duration // timedelta(milliseconds=1),
    )
    await recount_test_run(session, run)
    await append_run_event(
        session,
        run_id=run.id,
        type="run.cancelled",
        payload={"status": RunStatus.CANCELLED.value, "previous_status": previous.value},
    )
    # Workers executing its items hear this event on the run's channel and stop them (or,
    # should it be lost, find them no longer theirs on their next heartbeat).
    return run


async def stop_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> TestRun:
    """End a started (queued or running) run: cancelled, its unfinished items skipped."""
    return await _cancel(
        session,
        principal=principal,
        run_id=run_id,
        action="stop test run",
        allowed=(RunStatus.QUEUED, RunStatus.RUNNING),
    )


async def cancel_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> TestRun:
    """Cancel a run that has not finished, started or not; its unfinished items are skipped."""
    return await _cancel(
        session,
        principal=principal,
        run_id=run_id,
        action="cancel test run",
        allowed=(RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING),
    )


async def rerun_failed_items(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> TestRun:
    """A new pending run, configured like the finished run `run_id`, of its failed test cases.

    Test cases deleted since are left out; the new run is started like any other.
    """
    require_writer(principal)
    source = await read_test_run(session, principal=principal, run_id=run_id)
    if source.status not in FINAL_RUN_STATUSES:
        raise InvalidState.of("rerun failed items of test run", source.status)
    failed = list(
        await session.scalars(
            select(TestRunItem.test_case_id)
            .join(TestCase, TestCase.id == TestRunItem.test_case_id)
            .where(
                TestRunItem.test_run_id == source.id,
                TestRunItem.status == ItemStatus.FAILED,
                TestCase.deleted_at.is_(None),
            )
            .order_by(TestRunItem.execution_order)
        )
    )
    if not failed:
        raise InvalidState("Cannot rerun failed items: the test run has no failed items")
    await _lock_project(session, principal.project_id)
    run = await _insert_run(
        session,
        principal=principal,
        run_name=source.run_name[: 255 - len(RERUN_SUFFIX)] + RERUN_SUFFIX,
        notes=f"Rerun of the failed items of run #{source.run_number}",
        **{name: getattr(source, name) for name in COPIED_FIELDS},
    )
    await insert_test_run_items(session, principal=principal, run=run, test_case_ids=failed)
    await append_run_event(
        session,
        run_id=run.id,
        type="run.created",
        payload={"status": run.status, "rerun_of": str(source.id)},
    )
    return run
