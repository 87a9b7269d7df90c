"""The reaper: which items, results and runs it repairs, and which it leaves alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from execution.reaper import (
    ABANDONED,
    MAX_EXECUTIONS,
    close_abandoned_results,
    reap_stuck_items,
)
from models.runs import TestRun, TestRunItem
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


async def rows_of(session: AsyncSession, run: TestRun) -> list[TestRunItem]:
    return list(await session.scalars(select(TestRunItem).where(TestRunItem.test_run_id == run.id)))
