"""Claims under the global cap on running items (TESTRUN_MAX_RUNNING_ITEMS) and run priority."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import RUNNING_CAP, claim_next_items, claim_waiting_items
from execution.dispatch import EXECUTE_ITEM, QueueDispatcher
from execution.engine import reap
from models.enums import ItemStatus, RunStatus
from models.runs import RunEvent, TestRun, TestRunItem
from tests.factories import make_item, make_project, make_run, make_test_case, make_user
from tests.schema.run_operations import sent


@pytest.fixture
def cap_of_one() -> Iterator[None]:
    token = RUNNING_CAP.set(1)
    yield
    RUNNING_CAP.reset(token)


async def waiting_run(
    session: AsyncSession, *, items: int, priority: int = 0, started_ago_s: int = 0
) -> TestRun:
    """A started run whose items all wait as `queued`."""
    project = await make_project(session)
    user = await make_user(session)
    run = await make_run(
        session,
        project,
        user,
        status=RunStatus.RUNNING,
        priority=priority,
        started_at=datetime.now(UTC) - timedelta(seconds=started_ago_s),
        parallel_enabled=True,
        parallel_count=2,
    )
    for _ in range(items):
        await make_item(
            session, run, await make_test_case(session, project), status=ItemStatus.QUEUED
        )
    return run


async def statuses(session: AsyncSession, run: TestRun) -> list[str]:
    rows = await session.scalars(
        select(TestRunItem.status)
        .where(TestRunItem.test_run_id == run.id)
        .order_by(TestRunItem.execution_order)
    )
    return list(rows)


async def run_status(session: AsyncSession, run: TestRun) -> str:
    found = await session.scalar(select(TestRun.status).where(TestRun.id == run.id))
    assert found is not None
    return found


async def test_a_higher_priority_run_gets_the_slot_before_an_older_one(
    session: AsyncSession,
) -> None:
    older = await waiting_run(session, items=1, started_ago_s=60)
    urgent = await waiting_run(session, items=1, priority=10)

    claims = await claim_waiting_items(session, worker="w", max_running=1)

    assert [claim.item_id for claim in claims] == [
        (await session.scalars(select(TestRunItem.id).filter_by(test_run_id=urgent.id))).one()
    ]
    assert await statuses(session, urgent) == ["running"]
    assert await statuses(session, older) == ["queued"]


async def test_with_equal_priority_the_earliest_started_run_goes_first(
    session: AsyncSession,
) -> None:
    newer = await waiting_run(session, items=1)
    older = await waiting_run(session, items=1, started_ago_s=60)

    await claim_waiting_items(session, worker="w", max_running=1)

    assert (await statuses(session, older), await statuses(session, newer)) == (
        ["running"],
        ["queued"],
    )


async def test_a_run_whose_items_all_wait_shows_queued_then_running_again(
    session: AsyncSession, cap_of_one: None
) -> None:
    first = await waiting_run(session, items=1, started_ago_s=60)
    second = await waiting_run(session, items=2)

    assert len(await claim_next_items(session, first, worker="w")) == 1
    assert await claim_next_items(session, second, worker="w") == []
    assert await run_status(session, second) == "queued"

    # The first run's item ends: its slot goes to the waiting run, which runs again.
    await session.execute(
        TestRunItem.__table__.update()
        .where(TestRunItem.test_run_id == first.id)
        .values(status=ItemStatus.PASSED)
    )
    claims = await claim_waiting_items(session, worker="w", max_running=1)

    assert len(claims) == 1
    assert await run_status(session, second) == "running"
    assert await statuses(session, second) == ["running", "queued"]
    events = await session.scalars(
        select(RunEvent).where(RunEvent.test_run_id == second.id).order_by(RunEvent.seq)
    )
    assert [(e.type, e.payload.get("status")) for e in events] == [
        ("run.updated", "queued"),
        ("item.claimed", "running"),
        ("run.updated", "running"),
    ]


async def test_without_a_cap_each_run_claims_up_to_its_parallelism(
    session: AsyncSession,
) -> None:
    runs = [await waiting_run(session, items=3) for _ in range(2)]

    for run in runs:
        assert len(await claim_next_items(session, run, worker="w")) == 2

    assert [await statuses(session, run) for run in runs] == [["running", "running", "queued"]] * 2


async def test_the_reaper_starts_a_queued_run_when_nothing_else_would(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
    cap_of_one: None,
) -> None:
    run = await waiting_run(session, items=1)
    await session.execute(
        TestRun.__table__.update().where(TestRun.id == run.id).values(status=RunStatus.QUEUED)
    )
    await session.commit()

    await reap(session_factory, QueueDispatcher(stub_broker), worker="w")

    assert await run_status(session, run) == "running"
    assert await statuses(session, run) == ["running"]
    assert [(name, args[1]) for name, args in sent(stub_broker)] == [(EXECUTE_ITEM, 1)]
