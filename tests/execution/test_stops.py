"""A stop reaches the worker executing the run: through Redis at once, or with the heartbeat."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import Liveness
from execution.engine import Engine
from execution.events import RedisEventBus, RedisEventPublisher
from models.results import TestRunResult, TestStepResult
from models.runs import TestRunItem
from resolvers.events import publish_committed_events
from server.embedded import EmbeddedRedis
from tests.execution.engine_harness import Team, rows, start_engine, step, stop_engine

# How long a test waits for the stop to land...
DEADLINE_S = 60
# ...so an item that stopped did not wait out its step (a failed test ends with the step)...
WAIT_S = 90
# ...nor hear of the stop from its heartbeat, unless the test wants it to.
NO_HEARTBEAT = Liveness(timedelta(seconds=2 * DEADLINE_S), timedelta(seconds=4 * DEADLINE_S))
HALF_SECOND = Liveness(timedelta(seconds=0.5), timedelta(seconds=5))


def waiting_case(site: str) -> dict[str, list[dict[str, object]]]:
    return {
        "proven_steps": [
            step(1, "navigate_to", url=f"{site}/login.html"),
            step(2, "wait", seconds=WAIT_S),
            step(3, "click_element", index=1),
        ]
    }


@pytest.fixture
async def publishing_team(
    committing_session_factory: async_sessionmaker[AsyncSession], redis_url: str
) -> AsyncIterator[Team]:
    """A team whose commits are published on Redis, as the api's are."""
    redis = Redis.from_url(redis_url)
    publish_committed_events(committing_session_factory, RedisEventPublisher(redis))
    yield await Team.create(committing_session_factory)
    await redis.aclose()


def engine_on_bus(
    url: str, broker: StubBroker, artifacts: Path, redis_url: str, liveness: Liveness
) -> Iterator[tuple[Engine, RedisEventBus]]:
    bus = RedisEventBus(redis_url)
    engine, worker = start_engine(url, broker, artifacts, feed=bus, liveness=liveness)
    yield engine, bus
    loop = get_event_loop_thread()
    assert loop is not None
    loop.run_coroutine(bus.aclose())  # on the loop it listens on
    stop_engine(engine, worker)


@pytest.fixture
def bus_engine(
    migrated_database_url: str, stub_broker: StubBroker, artifacts: Path, redis_url: str
) -> Iterator[tuple[Engine, RedisEventBus]]:
    """A worker listening on the test Redis, whose heartbeat never comes in time."""
    yield from engine_on_bus(migrated_database_url, stub_broker, artifacts, redis_url, NO_HEARTBEAT)


async def executing_step(team: Team, run_id: uuid.UUID, items: int) -> list[TestRunItem]:
    """The run's items once `items` of them are in their wait step."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = await rows(team, TestRunItem, test_run_id=run_id)
        if sum(item.current_step == 2 for item in found) == items:
            return found
        assert time.monotonic() < deadline, "the items never reached their wait step"
        await asyncio.sleep(0.05)


async def ended_results(team: Team, run_id: uuid.UUID, count: int) -> list[TestRunResult]:
    """The run's results once `count` of them ended (fails the test after DEADLINE_S)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = await rows(team, TestRunResult, test_run_id=run_id)
        ended = [result for result in found if result.completed_at is not None]
        if len(ended) == count:
            return ended
        assert time.monotonic() < deadline, "the stop never reached the execution"
        await asyncio.sleep(0.05)


async def test_a_stop_reaches_both_executing_items_of_a_run_through_the_bus(
    bus_engine: tuple[Engine, RedisEventBus],
    publishing_team: Team,
    site: str,
    stub_broker: StubBroker,
) -> None:
    engine, bus = bus_engine
    team = publishing_team
    run_id = await team.run_of([waiting_case(site)] * 2, parallel_enabled=True, parallel_count=2)
    await team.start(run_id, stub_broker)
    await executing_step(team, run_id, items=2)
    # The worker listens to the run once, for both its items.
    assert (engine.executing.followed_runs(), bus.subscriber_count()) == (1, 1)

    await team.stop(run_id, stub_broker)
    results = await ended_results(team, run_id, 2)

    assert [(r.status, r.error_message) for r in results] == [("skipped", "Stopped")] * 2
    for result in results:
        steps = await rows(team, TestStepResult, test_run_result_id=result.id)
        waited = next(s for s in steps if s.step_number == 2)
        # Ended by the stop, not failed: no screenshot of it delays the end.
        assert (waited.status, waited.error_message, waited.screenshot_path) == (
            "failed",
            "Stopped",
            None,
        )
    items = await rows(team, TestRunItem, test_run_id=run_id)
    assert [item.status for item in items] == ["skipped", "skipped"]
    assert (await team.run(run_id)).status == "cancelled"


@pytest.fixture
def own_bus_engine(
    request: pytest.FixtureRequest,
    migrated_database_url: str,
    stub_broker: StubBroker,
    artifacts: Path,
    own_redis: EmbeddedRedis,
) -> Iterator[tuple[Engine, RedisEventBus]]:
    """A worker listening on a Redis the test stops; it beats every half second unless
    the test's parameter says otherwise."""
    liveness = getattr(request, "param", HALF_SECOND)
    yield from engine_on_bus(migrated_database_url, stub_broker, artifacts, own_redis.url, liveness)


@pytest.fixture
async def own_redis_team(
    committing_session_factory: async_sessionmaker[AsyncSession], own_redis: EmbeddedRedis
) -> AsyncIterator[Team]:
    """A team whose commits are published on the Redis the test stops."""
    redis = Redis.from_url(own_redis.url)
    publish_committed_events(committing_session_factory, RedisEventPublisher(redis))
    yield await Team.create(committing_session_factory)
    await redis.aclose()


async def waiting_run(
    team: Team, site: str, broker: StubBroker, engine: Engine, bus: RedisEventBus
) -> uuid.UUID:
    """A started run whose one item waits in its step, followed on the connected bus."""
    run_id = await team.run_of([waiting_case(site)])
    await team.start(run_id, broker)
    await executing_step(team, run_id, items=1)
    assert bus.connected.is_set() and engine.executing.followed_runs() == 1
    return run_id


@pytest.mark.parametrize(
    ("own_bus_engine", "back"),
    [(HALF_SECOND, False), (NO_HEARTBEAT, True)],
    indirect=["own_bus_engine"],
    ids=["redis-away-heartbeat", "redis-back-resync"],
)
async def test_a_stop_published_while_redis_is_away_still_lands(
    own_bus_engine: tuple[Engine, RedisEventBus],
    own_redis_team: Team,
    own_redis: EmbeddedRedis,
    site: str,
    stub_broker: StubBroker,
    back: bool,
) -> None:
    engine, bus = own_bus_engine
    team = own_redis_team
    run_id = await waiting_run(team, site, stub_broker, engine, bus)

    own_redis.stop()
    await team.stop(run_id, stub_broker)  # its event is published nowhere
    if back:
        # Back on Redis, the bus tells its listeners that events may have been lost: the
        # worker reads its items' state at once, its next heartbeat being far off.
        own_redis.start()
    (result,) = await ended_results(team, run_id, 1)

    # Away all along, Redis told nobody: the heartbeat (every half second) found the stop.
    assert bus.connected.is_set() == back
    assert (result.status, result.error_message) == ("skipped", "Stopped")
