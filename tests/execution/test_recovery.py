"""A run survives the SIGKILL of the worker executing it: real workers, scheduler, Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis

from execution.broker import create_broker
from execution.dispatch import RUNS_QUEUE
from execution.reaper import ABANDONED
from models.database import create_engine, create_session_factory
from models.results import TestRunResult
from models.runs import TestRunItem
from server.embedded import EmbeddedPostgres
from tests.execution.engine_harness import Team, rows
from tests.execution.fleet import Fleet, executing_worker, fleet, open_results, waiting_case
from tests.fixtures.databases import OWN_DATABASE

WAIT_S = 4


@pytest.fixture
def broker(redis_url: str, redis: Redis) -> Iterator[RedisBroker]:
    found = create_broker(redis_url)
    yield found  # type: ignore[misc]
    found.close()


@pytest.fixture
def workers(migrated_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Fleet]:
    with fleet(migrated_database_url, redis_url, tmp_path / "artifacts") as found:
        found.start_worker()
        found.start_worker()
        found.start_scheduler()
        yield found


@pytest.mark.slow
async def test_a_run_whose_worker_is_killed_mid_item_ends_with_every_item_final(
    workers: Fleet, team: Team, broker: RedisBroker, site: str
) -> None:
    run_id = await team.run_of([waiting_case(site, WAIT_S), waiting_case(site, WAIT_S)])
    await team.start(run_id, broker)
    first = (await rows(team, TestRunItem, test_run_id=run_id, execution_order=1))[0]

    victim = await executing_worker(team, first.id, after_step=1)  # now in its 4 s wait
    workers.kill(victim)
    run = await team.wait_final(run_id, timeout_s=90)  # bench/recovery.py measures how fast

    assert run.status == "completed", workers.logs()
    items = await rows(team, TestRunItem, test_run_id=run_id)
    assert sorted(item.status for item in items) == ["passed", "passed"]
    (rescued,) = [item for item in items if item.id == first.id]
    assert rescued.attempt == 2
    assert rescued.claimed_by is not None and not rescued.claimed_by.endswith(f":{victim}")
    assert (run.passed_tests, run.failed_tests) == (2, 0)
    assert await open_results(team, run_id) == []
    results = await rows(team, TestRunResult, test_run_item_id=first.id)
    assert sorted((r.status, r.error_message) for r in results) == [
        ("failed", ABANDONED),
        ("passed", None),
    ]
    types = [event.type for event in await team.events(run_id)]
    assert types.count("item.requeued") == 1
    assert types.count("result.abandoned") == 1
    assert types[-1] == "run.completed"


@pytest.mark.slow
async def test_a_run_whose_start_message_is_lost_in_redis_still_completes(
    migrated_database_url: str,
    redis_url: str,
    tmp_path: Path,
    team: Team,
    broker: RedisBroker,
    redis: Redis,
    site: str,
) -> None:
    with fleet(migrated_database_url, redis_url, tmp_path / "artifacts") as workers:
        workers.start_scheduler()
        run_id = await team.run_of([waiting_case(site, WAIT_S)])
        await team.start(run_id, broker)  # commits, then sends start_run to the queue
        lost = await redis.delete(f"dramatiq:{RUNS_QUEUE}", f"dramatiq:{RUNS_QUEUE}.msgs")
        assert lost == 2, "the start message was in the queue, and now is not"
        assert {item.status for item in await rows(team, TestRunItem, test_run_id=run_id)} == {
            "queued"
        }
        workers.start_worker()

        run = await team.wait_final(run_id, timeout_s=90)

        assert (run.status, run.passed_tests) == ("completed", 1), workers.logs()
        assert "1 stalled runs dispatched again" in workers.logs()


@pytest.mark.slow
async def test_a_run_in_flight_while_postgresql_restarts_ends_with_every_item_final(
    own_postgres: EmbeddedPostgres, redis_url: str, redis: Redis, tmp_path: Path, site: str
) -> None:
    database = create_engine(own_postgres.url(OWN_DATABASE), pool_size=2)
    team = await Team.create(create_session_factory(database))
    broker = create_broker(redis_url)
    with fleet(own_postgres.url(OWN_DATABASE), redis_url, tmp_path / "artifacts") as workers:
        workers.start_worker()
        workers.start_scheduler()
        run_id = await team.run_of([waiting_case(site, WAIT_S), waiting_case(site, WAIT_S)])
        await team.start(run_id, broker)
        first = (await rows(team, TestRunItem, test_run_id=run_id, execution_order=1))[0]
        await executing_worker(team, first.id, after_step=1)

        own_postgres.stop()  # the item's wait step ends while the database is away
        await asyncio.sleep(WAIT_S)
        own_postgres.start()
        run = await team.wait_final(run_id, timeout_s=120)

        items = await rows(team, TestRunItem, test_run_id=run_id)
        assert run.status == "completed", workers.logs()
        assert {item.status for item in items} <= {"passed", "failed"}, workers.logs()
        assert await open_results(team, run_id) == []
        for item in items:
            if item.status == "failed":
                assert item.error_message, "a failed item says why"
    broker.close()
    await database.dispose()
