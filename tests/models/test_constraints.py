"""The database itself refuses what must never be stored and cleans up what a delete orphans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ColumnElement, delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    CheckpointResult,
    ConsoleLog,
    NetworkLog,
    RunEvent,
    Schedule,
    ScheduleExecution,
    ScriptResult,
    TestCase,
    TestExecutionHistory,
    TestRun,
    TestRunItem,
    TestRunResult,
    TestStepResult,
)
from models.base import Base
from models.enums import (
    CheckpointStatus,
    CheckpointType,
    ItemStatus,
    LogLevel,
    ResultStatus,
    RunStatus,
    ScheduleExecutionStatus,
    ScriptType,
)
from tests.factories import (
    make_item,
    make_project,
    make_result,
    make_run,
    make_schedule,
    make_test_case,
    make_user,
)

NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


async def refused(session: AsyncSession, row: Base) -> IntegrityError:
    """Add `row` in a savepoint and return the error PostgreSQL refuses it with."""
    with pytest.raises(IntegrityError) as refusal:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    return refusal.value


async def count(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_a_test_case_is_once_in_a_run(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    test_case = await make_test_case(session, project)
    await make_item(session, run, test_case)

    error = await refused(
        session, TestRunItem(test_run_id=run.id, test_case_id=test_case.id, execution_order=2)
    )
    assert "uq_test_run_items_test_run_id_test_case_id" in str(error)


async def test_deleting_a_run_deletes_everything_under_it(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    other_run = await make_run(session, project, user)
    test_case = await make_test_case(session, project)
    for each_run in (run, other_run):
        item = await make_item(session, each_run, test_case)
        result = await make_result(session, item)
        step = TestStepResult(
            test_run_result_id=result.id,
            step_number=1,
            action="navigate_to",
            status=ResultStatus.PASSED.value,
        )
        session.add(step)
        await session.flush()
        session.add_all(
            [
                CheckpointResult(
                    test_run_result_id=result.id,
                    test_step_result_id=step.id,
                    checkpoint_name="url",
                    checkpoint_type=CheckpointType.ELEMENT.value,
                    status=CheckpointStatus.PASSED.value,
                ),
                ScriptResult(
                    test_run_result_id=result.id,
                    script_name="seed",
                    script_type=ScriptType.PRE_EXECUTION.value,
                    status=ResultStatus.PASSED.value,
                ),
                ConsoleLog(
                    test_run_result_id=result.id,
                    log_level=LogLevel.INFO.value,
                    message="ready",
                    timestamp=NOW,
                ),
                NetworkLog(
                    test_run_result_id=result.id,
                    url="https://example.com",
                    method="GET",
                    timestamp=NOW,
                ),
                RunEvent(test_run_id=each_run.id, seq=1, type="run.started"),
                RunEvent(test_run_id=each_run.id, seq=2, type="item.started", payload={"step": 1}),
            ]
        )
        await session.flush()
    children = [
        TestRunItem,
        TestRunResult,
        TestStepResult,
        CheckpointResult,
        ScriptResult,
        ConsoleLog,
        NetworkLog,
        RunEvent,
    ]
    before = {model: await count(session, model) for model in children}

    await session.execute(delete(TestRun).where(TestRun.id == run.id))

    after = {model: await count(session, model) for model in children}
    expected = {model: before[model] - (2 if model is RunEvent else 1) for model in children}
    assert after == expected
    # Only the run's own rows go: the other run and the test case they share stay.
    assert await session.get(TestRun, other_run.id, populate_existing=True) is not None
    assert await session.get(TestCase, test_case.id, populate_existing=True) is not None


async def test_deleting_a_run_through_the_orm_leaves_the_children_to_the_database(
    session: AsyncSession,
) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    item = await make_item(session, run, await make_test_case(session, project))
    await make_result(session, item)
    session.expunge(item)  # as in a fresh request: nothing under the run is loaded
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    connection = (await session.connection()).sync_connection
    assert connection is not None
    event.listen(connection, "before_cursor_execute", record)
    try:
        await session.delete(run)
        await session.flush()
    finally:
        event.remove(connection, "before_cursor_execute", record)

    # passive_deletes: one DELETE, no SELECT of the children to delete them one by one.
    assert [statement.split()[0] for statement in statements] == ["DELETE"]
    assert await count(session, TestRunItem, TestRunItem.test_run_id == run.id) == 0
    assert await count(session, TestRunResult, TestRunResult.test_run_id == run.id) == 0


async def test_an_idempotency_key_is_unique_per_project(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    other_project = await make_project(session)
    await make_run(session, project, user, idempotency_key="nightly-42")
    await make_run(session, other_project, user, idempotency_key="nightly-42")
    await make_run(session, project, user)
    await make_run(session, project, user)  # runs without a key never collide

    error = await refused(
        session,
        TestRun(
            project_id=project.id,
            created_by=user.id,
            run_number=99,
            run_name="Run_099",
            idempotency_key="nightly-42",
        ),
    )
    assert "uq_test_runs_project_id_idempotency_key" in str(error)


async def test_a_run_number_is_unique_per_project(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    other_project = await make_project(session)
    first = await make_run(session, project, user)
    second = await make_run(session, project, user)
    elsewhere = await make_run(session, other_project, user)
    assert (first.run_number, second.run_number, elsewhere.run_number) == (1, 2, 1)

    error = await refused(
        session,
        TestRun(project_id=project.id, created_by=user.id, run_number=2, run_name="Run_002"),
    )
    assert "uq_test_runs_project_id_run_number" in str(error)


@pytest.mark.parametrize(
    ("model", "constraint"),
    [(TestRun, "ck_test_runs_status"), (TestRunItem, "ck_test_run_items_status")],
)
async def test_a_status_outside_the_enum_is_refused(
    session: AsyncSession, model: type[TestRun] | type[TestRunItem], constraint: str
) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    item = await make_item(session, run, await make_test_case(session, project))
    row = run if model is TestRun else item
    assert row.status in {*RunStatus, *ItemStatus}

    with pytest.raises(IntegrityError) as refusal:
        async with session.begin_nested():
            row.status = "exploded"
            await session.flush()
    assert constraint in str(refusal.value)


async def test_the_defaults_are_filled_in(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    schedule = await make_schedule(session, project, user)
    await session.refresh(run)
    await session.refresh(schedule)

    assert (run.status, run.executor, run.event_seq, run.parallel_count) == (
        "pending",
        "server",
        0,
        1,
    )
    assert str(run.pass_rate) == "0.00"
    assert run.created_at is not None
    assert (schedule.status, schedule.repeat_type, schedule.timezone) == ("active", "none", "UTC")
    assert (schedule.is_enabled, schedule.notify_on_failure, schedule.parallel_enabled) == (
        True,
        True,
        False,
    )


async def test_deleting_a_result_keeps_its_history_line(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    run = await make_run(session, project, user)
    test_case = await make_test_case(session, project)
    result = await make_result(session, await make_item(session, run, test_case))
    history = TestExecutionHistory(
        test_case_id=test_case.id,
        test_run_id=run.id,
        test_run_result_id=result.id,
        status=ResultStatus.PASSED.value,
        executed_at=NOW,
        run_name=run.run_name,
    )
    session.add(history)
    await session.flush()

    await session.execute(delete(TestRunResult).where(TestRunResult.id == result.id))
    await session.refresh(history)
    assert history.test_run_result_id is None
    assert history.test_run_id == run.id

    await session.execute(delete(TestRun).where(TestRun.id == run.id))
    await session.refresh(history)
    assert history.test_run_id is None


async def test_deleting_a_schedule_keeps_its_runs(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    schedule = await make_schedule(session, project, user)
    run = await make_run(session, project, user, schedule_id=schedule.id)
    session.add(
        ScheduleExecution(
            schedule_id=schedule.id,
            test_run_id=run.id,
            scheduled_for=NOW,
            status=ScheduleExecutionStatus.COMPLETED.value,
        )
    )
    await session.flush()

    await session.execute(delete(Schedule).where(Schedule.id == schedule.id))
    await session.refresh(run)
    assert run.schedule_id is None
    assert await count(session, ScheduleExecution, ScheduleExecution.test_run_id == run.id) == 0


async def test_a_schedule_fires_once_per_occurrence(session: AsyncSession) -> None:
    user = await make_user(session)
    project = await make_project(session)
    schedule = await make_schedule(session, project, user)
    session.add(
        ScheduleExecution(
            schedule_id=schedule.id,
            scheduled_for=NOW,
            status=ScheduleExecutionStatus.RUNNING.value,
        )
    )
    await session.flush()

    error = await refused(
        session,
        ScheduleExecution(
            schedule_id=schedule.id,
            scheduled_for=NOW,
            status=ScheduleExecutionStatus.PENDING.value,
        ),
    )
    assert "uq_schedule_executions_schedule_id_scheduled_for" in str(error)
