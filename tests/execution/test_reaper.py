"""The reaper: which items, results and runs it repairs, and which it leaves alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import QueueDispatcher
from execution.engine import Engine
from execution.reaper import (
    ABANDONED,
    MAX_EXECUTIONS,
    close_abandoned_results,
    reap,
    reap_stuck_items,
    stalled_runs,
)
from models.database import transaction
from models.runs import TestRun, TestRunItem
from tests.execution.engine_harness import Team, login_steps
from tests.factories import (
    make_item,
    make_project,
    make_result,
    make_run,
    make_test_case,
    make_user,
)

REAP_AFTER = timedelta(seconds=10)
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(minutes=5)


async def a_run(session: AsyncSession, *, items: list[dict[str, object]], **run: object) -> TestRun:
    project = await make_project(session)
    user = await make_user(session)
    found = await make_run(session, project, user, status="running", started_at=LONG_AGO, **run)
    for fields in items:
        await make_item(session, found, await make_test_case(session, project), **fields)
    return found


async def test_a_running_run_with_queued_items_and_nothing_executing_is_stalled(
    session: AsyncSession,
) -> None:
    lost = await a_run(session, items=[{"status": "queued", "updated_at": LONG_AGO}] * 2)
    just_started = await a_run(session, items=[{"status": "queued", "updated_at": NOW}])
    executing = await a_run(
        session,
        items=[
            {"status": "running", "updated_at": LONG_AGO, "heartbeat_at": NOW},
            {"status": "queued", "updated_at": LONG_AGO},
        ],
    )
    manual = await a_run(
        session, items=[{"status": "queued", "updated_at": LONG_AGO}], executor="client"
    )

    stalled = await stalled_runs(session, reap_after=REAP_AFTER, now=NOW)
    again = await stalled_runs(session, reap_after=REAP_AFTER, now=NOW + timedelta(seconds=1))
    later = await stalled_runs(
        session, reap_after=REAP_AFTER, now=NOW + REAP_AFTER + timedelta(seconds=1)
    )

    assert lost.id in stalled
    assert {just_started.id, executing.id, manual.id}.isdisjoint(stalled)
    assert lost.id not in again, "dispatched again once per reap timeout, not every pass"
    assert just_started.id in later, "once nothing happened for the reap timeout, it is"


async def test_results_left_open_by_dead_executions_are_closed_and_live_ones_are_not(
    session: AsyncSession,
) -> None:
    run = await a_run(
        session,
        items=[
            {"status": "running", "heartbeat_at": LONG_AGO, "updated_at": LONG_AGO},
            {"status": "running", "heartbeat_at": NOW, "updated_at": LONG_AGO},
            {"status": "skipped", "updated_at": LONG_AGO},  # a stop ended it; nobody closed
            {"status": "skipped", "updated_at": NOW},  # stopped now; its worker closes it
        ],
    )
    client = await a_run(
        session,
        items=[{"status": "running", "heartbeat_at": LONG_AGO, "updated_at": LONG_AGO}],
        executor="client",
    )
    items = sorted(await rows_of(session, run), key=lambda item: item.execution_order)
    (manual,) = await rows_of(session, client)
    opened = [
        await make_result(session, item, status="skipped", started_at=LONG_AGO)
        for item in [*items, manual]
    ]

    closed = await close_abandoned_results(session, reap_after=REAP_AFTER, now=NOW)

    for result in opened:
        await session.refresh(result)
    assert closed == 2
    assert [(r.status, r.completed_at is not None) for r in opened] == [
        ("failed", True),
        ("skipped", False),
        ("failed", True),
        ("skipped", False),
        ("skipped", False),
    ]
    assert opened[0].error_message == ABANDONED
    assert opened[0].duration_ms == 5 * 60 * 1000


async def test_an_item_lost_too_often_is_failed_instead_of_requeued(session: AsyncSession) -> None:
    run = await a_run(
        session,
        items=[
            {"status": "running", "heartbeat_at": LONG_AGO, "attempt": 1},
            {"status": "running", "heartbeat_at": LONG_AGO, "attempt": MAX_EXECUTIONS},
            {"status": "running", "heartbeat_at": NOW - REAP_AFTER / 2, "attempt": 1},
        ],
    )
    first, last, live = sorted(await rows_of(session, run), key=lambda item: item.execution_order)

    requeued, failed = await reap_stuck_items(session, reap_after=REAP_AFTER, now=NOW)

    assert requeued == [(run.id, first.id)]
    assert failed == [(run.id, last.id)]
    await session.refresh(live)
    assert live.status == "running"


async def test_a_run_whose_start_message_was_lost_completes_after_a_reaper_pass(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}] * 2)
    async with transaction(team.sessions) as session:  # started, but no message was sent
        await session.execute(update(TestRun).where(TestRun.id == run_id).values(status="running"))
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.test_run_id == run_id)
            .values(status="queued", updated_at=LONG_AGO)
        )

    loop = get_event_loop_thread()
    assert loop is not None
    reaped = loop.run_coroutine(
        reap(running_engine.sessions, QueueDispatcher(stub_broker), reap_after=REAP_AFTER)
    )
    run = await team.wait_final(run_id)

    assert reaped.stalled == [run_id]
    assert (run.status, run.passed_tests) == ("completed", 2)


async def rows_of(session: AsyncSession, run: TestRun) -> list[TestRunItem]:
    return list(await session.scalars(select(TestRunItem).where(TestRunItem.test_run_id == run.id)))
