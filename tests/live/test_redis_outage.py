"""Redis goes away for 10 s in the middle of a real run: api, workers and scheduler ride it out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.broker import create_broker
from models.enums import Role
from models.runs import TestRunItem
from server.embedded import EmbeddedRedis
from tests.execution.engine_harness import rows
from tests.execution.fleet import Fleet, executing_worker, fleet, open_results, waiting_case
from tests.live.harness import EVENTS, Api, Writer, api_process, subscribed

OUTAGE_S = 10  # the outage
WAIT_S = 4


@pytest.fixture
def services(
    own_redis: EmbeddedRedis, migrated_database_url: str, tmp_path: Path
) -> Iterator[tuple[Api, Fleet]]:
    with (
        api_process(migrated_database_url, own_redis.url) as api,
        fleet(migrated_database_url, own_redis.url, tmp_path / "artifacts") as workers,
    ):
        workers.start_worker()
        workers.start_scheduler()
        yield api, workers


@pytest.fixture
async def writer(
    committing_session_factory: async_sessionmaker[AsyncSession], own_redis: EmbeddedRedis
) -> AsyncIterator[Writer]:
    found = await Writer.create(committing_session_factory, own_redis.url)
    yield found
    await found.aclose()


@pytest.mark.slow
async def test_a_run_in_flight_completes_and_its_subscriber_misses_no_event(
    own_redis: EmbeddedRedis, services: tuple[Api, Fleet], writer: Writer, site: str
) -> None:
    api, workers = services
    team = writer.team
    run_id = await team.run_of([waiting_case(site, WAIT_S), waiting_case(site, WAIT_S)])
    token = await writer.token(Role.EDITOR)
    broker = create_broker(own_redis.url)

    async with subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as events:
        await team.start(run_id, broker)
        first = (await rows(team, TestRunItem, test_run_id=run_id, execution_order=1))[0]
        await executing_worker(team, first.id, after_step=1)
        own_redis.stop()
        await asyncio.sleep(OUTAGE_S)  # the first item ends meanwhile; the second cannot start
        own_redis.start()
        run = await team.wait_final(run_id, timeout_s=120)
        await asyncio.wait_for(events.done.wait(), 30)
    broker.close()

    assert (run.status, run.passed_tests) == ("completed", 2), workers.logs()
    assert await open_results(team, run_id) == []
    logged = await team.events(run_id)
    received = [result["testRunEvents"] for result in events.results]
    assert events.error is None
    assert [event["seq"] for event in received] == list(range(1, len(logged) + 1))
    assert [event["type"] for event in received] == [event.type for event in logged]
    assert received[-1]["type"] == "run.completed"
    assert "redis event bus disconnected" in api.output.drain()
    for process, _ in workers.workers.values():
        assert process.poll() is None, "the worker survived the outage"
