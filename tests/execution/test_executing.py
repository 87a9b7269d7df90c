"""A worker's executing items: one heartbeat statement for all, and stops off the event bus."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import Claim, beat
from execution.executing import ExecutingItems
from execution.memory_events import InMemoryEventBus
from execution.reaper import reap_stuck_items
from models.database import transaction
from models.enums import ItemStatus, RunStatus
from models.runs import TestRunItem
from resolvers import runs
from resolvers.events import publish_committed_events
from tests.execution.engine_harness import Team
from tests.factories import make_item, make_run, make_test_case

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
# Longer than any test here: an item stopped by an event was not stopped by its heartbeat.
NO_HEARTBEAT = timedelta(hours=1)
DEADLINE_S = 30


async def executing_run(
    team: Team, *attempts: int, status: RunStatus = RunStatus.RUNNING
) -> tuple[uuid.UUID, list[Claim]]:
    """A run with one running item per attempt (claimed long ago by another worker)."""
    async with transaction(team.sessions) as session:
        run = await make_run(
            session, team.project, team.user, status=status, started_at=datetime.now(UTC)
        )
        claims = []
        for attempt in attempts:
            item = await make_item(
                session,
                run,
                await make_test_case(session, team.project),
                status=ItemStatus.RUNNING,
                attempt=attempt,
                heartbeat_at=LONG_AGO,
                claimed_by="claimer:1",
            )
            claims.append(Claim(item.id, attempt))
    return run.id, claims


async def item_row(team: Team, claim: Claim) -> TestRunItem:
    async with team.sessions() as session:
        found = await session.get(TestRunItem, claim.item_id)
        assert found is not None
        return found


async def stop(team: Team, run_id: uuid.UUID) -> None:
    async with transaction(team.sessions) as session:
        await runs.stop_test_run(session, principal=team.principal, run_id=run_id)


@pytest.fixture
async def team(committing_session_factory: async_sessionmaker[AsyncSession]) -> Team:
    return await Team.create(committing_session_factory)


@pytest.fixture
def bus(team: Team) -> InMemoryEventBus:
    """Inline mode's event bus; what `team` commits is published on it."""
    found = InMemoryEventBus()
    publish_committed_events(team.sessions, found)
    return found


async def test_a_beat_writes_the_heartbeat_of_the_items_still_its_own_in_one_statement(
    team: Team,
) -> None:
    _, (own, other_own) = await executing_run(team, 1, 1)
    _, (reclaimed,) = await executing_run(team, 2)  # the reaper gave it to attempt 2
    _, (in_stopped_run,) = await executing_run(team, 1, status=RunStatus.CANCELLED)
    _, (skipped,) = await executing_run(team, 1)
    async with transaction(team.sessions) as session:
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id == skipped.item_id)
            .values(status=ItemStatus.SKIPPED)
        )
    stale = Claim(reclaimed.item_id, 1)

    async with transaction(team.sessions) as session:
        found = await beat(
            session, [own, other_own, stale, in_stopped_run, skipped], worker="worker:7"
        )

    assert found == {own, other_own}
    beaten = [await item_row(team, claim) for claim in (own, other_own)]
    assert [item.claimed_by for item in beaten] == ["worker:7", "worker:7"]
    # One statement wrote both, with one timestamp.
    assert beaten[0].heartbeat_at == beaten[1].heartbeat_at
    assert beaten[0].heartbeat_at is not None and beaten[0].heartbeat_at > LONG_AGO
    for void in (reclaimed, in_stopped_run, skipped):
        left = await item_row(team, void)
        assert (left.heartbeat_at, left.claimed_by) == (LONG_AGO, "claimer:1")


async def test_a_beat_passes_over_an_item_a_stop_holds_and_sees_it_void_once_committed(
    team: Team,
) -> None:
    run_id, (claim,) = await executing_run(team, 1)
    async with AsyncExitStack() as stack:
        stopping = await stack.enter_async_context(transaction(team.sessions))
        await runs.stop_test_run(stopping, principal=team.principal, run_id=run_id)
        # The stop holds the item's row, uncommitted. Waiting for it could deadlock with a
        # stop of another run whose items the same beat covers: the beat never waits.
        async with transaction(team.sessions) as session:
            await session.execute(text("SET LOCAL lock_timeout = '10s'"))
            during = await beat(session, [claim], worker="worker:7")
    async with transaction(team.sessions) as session:
        after = await beat(session, [claim], worker="worker:7")

    assert during == {claim}  # not stopped on a guess: the stop might still roll back
    assert after == set()
    assert (await item_row(team, claim)).status == ItemStatus.SKIPPED


@pytest.fixture
async def executing(team: Team, bus: InMemoryEventBus) -> AsyncIterator[ExecutingItems]:
    yield ExecutingItems(team.sessions, worker="worker:7", heartbeat_every=NO_HEARTBEAT, feed=bus)


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait for `check` to hold; fails the test after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return
        assert time.monotonic() < deadline, f"never {what}"
        await asyncio.sleep(0.01)


def named(team: Team, claim: Claim, worker: str = "worker:7") -> Callable[[], Awaitable[bool]]:
    """Whether the item's `claimed_by` names `worker` (it beat there)."""

    async def check() -> bool:
        return (await item_row(team, claim)).claimed_by == worker

    return check


async def test_a_stop_reaches_the_items_of_its_run_through_the_bus_one_subscription_a_run(
    team: Team, bus: InMemoryEventBus, executing: ExecutingItems
) -> None:
    stopped_run, (first, second) = await executing_run(team, 1, 1)
    going_on, (other,) = await executing_run(team, 1)

    async with AsyncExitStack() as stack:
        stops = [
            await stack.enter_async_context(executing.executing(claim, run_id))
            for claim, run_id in ((first, stopped_run), (second, stopped_run), (other, going_on))
        ]
        await eventually(lambda: bus.subscriber_count() == 2, "subscribed")
        assert executing.followed_runs() == 2  # one per run, not one per item
        # Listening, it beats at once: `claimed_by` names the worker executing the item.
        await eventually(named(team, first), "beat")
        await stop(team, stopped_run)
        await eventually(lambda: stops[0].is_set() and stops[1].is_set(), "stopped")
        assert not stops[2].is_set()

    assert executing.followed_runs() == bus.subscriber_count() == 0


async def test_the_reaper_taking_one_item_stops_that_item_only(
    team: Team, bus: InMemoryEventBus, executing: ExecutingItems
) -> None:
    run_id, (lost, alive) = await executing_run(team, 1, 1)
    async with AsyncExitStack() as stack:
        lost_stop = await stack.enter_async_context(executing.executing(lost, run_id))
        alive_stop = await stack.enter_async_context(executing.executing(alive, run_id))
        await eventually(lambda: bus.subscriber_count() == 1, "subscribed")
        await eventually(named(team, lost), "beat")
        async with transaction(team.sessions) as session:
            # As if `lost` had gone silent for longer than reap_after.
            await session.execute(
                update(TestRunItem)
                .where(TestRunItem.id == lost.item_id)
                .values(heartbeat_at=LONG_AGO)
            )
            requeued, _ = await reap_stuck_items(
                session, reap_after=timedelta(seconds=10), now=datetime.now(UTC)
            )
        assert requeued == [(run_id, lost.item_id)]

        await eventually(lost_stop.is_set, "stopped")
        assert not alive_stop.is_set()


async def test_without_the_bus_the_heartbeat_stops_an_item_no_longer_its_own(
    team: Team,
) -> None:
    executing = ExecutingItems(
        team.sessions, worker="worker:7", heartbeat_every=timedelta(seconds=0.2), feed=None
    )
    run_id, (claim,) = await executing_run(team, 1)
    going_on, (other,) = await executing_run(team, 1)

    async with (
        executing.executing(claim, run_id) as stopped,
        executing.executing(other, going_on) as not_stopped,
    ):
        # It beats at once, then every period: `claimed_by` names the executing worker.
        await eventually(named(team, claim), "beat")
        before = (await item_row(team, other)).heartbeat_at
        await stop(team, run_id)  # published nowhere: only the database says so
        await eventually(stopped.is_set, "stopped by the heartbeat")
        await eventually(lambda: beaten_since(team, other, before), "beat again")

    assert not not_stopped.is_set()
    assert (await item_row(team, other)).claimed_by == "worker:7"


async def beaten_since(team: Team, claim: Claim, before: datetime | None) -> bool:
    beaten = (await item_row(team, claim)).heartbeat_at
    return beaten is not None and before is not None and beaten > before
