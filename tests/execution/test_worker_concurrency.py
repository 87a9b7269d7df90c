"""`testrun worker --concurrency N`: N items at once as tasks, on bounded connections."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from execution.broker import create_broker
from execution.worker import (
    CLIENT_NAME,
    LOCAL_CONCURRENCY_PER_CORE,
    REMOTE_CONCURRENCY,
    broker_connections,
    database_pool_size,
    default_concurrency,
    publish_connections,
)
from models.runs import TestRunItem
from tests.execution.engine_harness import Team, rows, step
from tests.fixtures.chromium_fleet import FleetBrowser
from tests.processes import cli_env, started

CONCURRENCY = 20
POOL_SIZE = 2  # TESTRUN_DB_POOL_SIZE: at most twice this many connections


def test_remote_browsers_get_many_items_and_local_chromium_few() -> None:
    assert default_concurrency("cdp") == default_concurrency("e2b") == REMOTE_CONCURRENCY
    assert default_concurrency("local") % LOCAL_CONCURRENCY_PER_CORE == 0
    assert default_concurrency("local") < REMOTE_CONCURRENCY
    # Connections do not grow with the items beyond their caps.
    assert database_pool_size(200, 10) == database_pool_size(20, 10) == 10
    assert database_pool_size(1, 10) == 3
    assert publish_connections(200) == publish_connections(20) < 20
    assert broker_connections(200) == broker_connections(20) < 20


def worker_env(
    database_url: str, redis_url: str, tmp_path: Path, fleet: list[FleetBrowser]
) -> dict[str, str]:
    return cli_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TESTRUN_SANDBOX="cdp",
        TESTRUN_CDP_URLS=",".join(browser.url for browser in fleet),
        TESTRUN_DB_POOL_SIZE=str(POOL_SIZE),
        TESTRUN_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )


@pytest.fixture
def worker(
    migrated_database_url: str, redis_url: str, tmp_path: Path, fleet: list[FleetBrowser]
) -> Iterator[None]:
    env = worker_env(migrated_database_url, redis_url, tmp_path, fleet)
    with started("worker", "--concurrency", str(CONCURRENCY), env=env) as (process, output):
        output.wait_for("worker ready", timeout=60)
        yield
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the worker did not stop; it printed:\n{output.drain()}"
            ) from None


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of spans open at one instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = most = 0
    for _, change in edges:
        open_now += change
        most = max(most, open_now)
    return most


async def all_final(team: Team, run_ids: list[uuid.UUID]) -> bool:
    return all([(await team.run(run_id)).status in ("completed", "failed") for run_id in run_ids])


async def test_twenty_items_run_at_once_on_a_small_pool(
    worker: None, team: Team, site: str, redis_url: str, redis: Redis
) -> None:
    case = {
        "proven_steps": [
            step(1, "navigate_to", url=f"{site}/login.html"),
            step(2, "wait", seconds=3),
            step(3, "assert_text_present", text="Log in"),
        ]
    }
    # Many runs at once, each within the spec's parallel_count (1-10).
    run_ids = [
        await team.run_of([case, case], parallel_enabled=True, parallel_count=2)
        for _ in range(CONCURRENCY // 2)
    ]
    broker = create_broker(redis_url)
    peak_database = peak_redis = 0
    try:
        for run_id in run_ids:
            await team.start(run_id, broker)  # type: ignore[arg-type] # any broker enqueues
        while not await all_final(team, run_ids):
            async with team.sessions() as session:
                database = await session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": CLIENT_NAME},
                )
            clients = await redis.client_list()
            peak_database = max(peak_database, database or 0)
            peak_redis = max(peak_redis, sum(c.get("name") == CLIENT_NAME for c in clients))
            await asyncio.sleep(0.2)
    finally:
        broker.close()

    items = [
        item for run_id in run_ids for item in await rows(team, TestRunItem, test_run_id=run_id)
    ]
    assert [item.status for item in items] == ["passed"] * CONCURRENCY
    spans = [(item.started_at, item.completed_at) for item in items]
    assert most_at_once(spans) == CONCURRENCY  # all twenty were running together
    assert 0 < peak_database <= 2 * POOL_SIZE
    # ... and one pub/sub connection, on which its items hear of a stop.
    bus = 1
    assert (
        0 < peak_redis <= broker_connections(CONCURRENCY) + publish_connections(CONCURRENCY) + bus
    )


async def test_sigterm_stops_a_worker_whose_item_is_mid_wait_and_leaves_it_to_the_reaper(
    migrated_database_url: str,
    redis_url: str,
    tmp_path: Path,
    fleet: list[FleetBrowser],
    team: Team,
    site: str,
) -> None:
    env = worker_env(migrated_database_url, redis_url, tmp_path, fleet)
    # A wait no stop of the browsers ends: Dramatiq alone would wait ten minutes for it.
    case = {
        "proven_steps": [
            step(1, "navigate_to", url=f"{site}/login.html"),
            step(2, "wait", seconds=600),
        ]
    }
    run_id = await team.run_of([case])
    broker = create_broker(redis_url)
    with started("worker", "--concurrency", "2", env=env) as (process, output):
        output.wait_for("worker ready", timeout=60)
        await team.start(run_id, broker)  # type: ignore[arg-type] # any broker enqueues
        while True:
            [item] = await rows(team, TestRunItem, test_run_id=run_id)
            if item.status == "running" and item.current_step == 2:
                break
            await asyncio.sleep(0.1)

        process.send_signal(signal.SIGTERM)

        try:
            code = await asyncio.to_thread(process.wait, 120)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the worker did not stop; it printed:\n{output.drain()}"
            ) from None
    broker.close()
    assert code == 0, output.drain()
    assert "worker stopping" in output.drain()
    # Nothing ended the item: its heartbeat stopped with the process, and the reaper takes it.
    [item] = await rows(team, TestRunItem, test_run_id=run_id)
    assert (item.status, item.current_step, item.completed_at) == ("running", 2, None)
