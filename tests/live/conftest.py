"""A `testrun api` process shared by a module's tests, and a writer of published events."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.sandboxes.chromium import find_chromium
from server.embedded import free_port
from tests.live.harness import Api, Worker, Writer, api_process
from tests.processes import cli_env, started

ALLOWED_ORIGIN = "http://dashboard.example"
MAX_SUBSCRIPTIONS = 3


@pytest.fixture(scope="module")
def api(migrated_database_url: str, redis_url: str) -> Iterator[Api]:
    with api_process(
        migrated_database_url,
        redis_url,
        TESTRUN_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        TESTRUN_MAX_SUBSCRIPTIONS_PER_CONNECTION=str(MAX_SUBSCRIPTIONS),
    ) as found:
        yield found


@pytest.fixture
async def writer(
    committing_session_factory: async_sessionmaker[AsyncSession], redis_url: str
) -> AsyncIterator[Writer]:
    found = await Writer.create(committing_session_factory, redis_url)
    yield found
    await found.aclose()


@pytest.fixture
def worker(migrated_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Worker]:
    """A `testrun worker`, logging JSON lines."""
    metrics_port = free_port()
    env = cli_env(
        TESTRUN_METRICS_PORT=str(metrics_port),
        DATABASE_URL=migrated_database_url,
        REDIS_URL=redis_url,
        TESTRUN_CHROMIUM=str(find_chromium(None)),
        TESTRUN_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
    with started("worker", "--concurrency", "2", env=env) as (process, output):
        output.wait_for("worker ready", timeout=60)
        yield Worker(metrics_port, output, process.pid)
        process.send_signal(signal.SIGTERM)  # closes its browsers before it exits
        process.wait(timeout=30)
