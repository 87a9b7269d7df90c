"""A `testrun api` process shared by a module's tests, and a writer of published events."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.live.harness import Api, Worker, Writer, api_process, worker_process

ALLOWED_ORIGIN = "http://dashboard.example"
MAX_SUBSCRIPTIONS = 3


@pytest.fixture(scope="module")
def shared_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifacts folder the worker writes and the api serves, as on one host."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def api(migrated_database_url: str, redis_url: str, shared_artifacts: Path) -> Iterator[Api]:
    with api_process(
        migrated_database_url,
        redis_url,
        TESTRUN_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        TESTRUN_MAX_SUBSCRIPTIONS_PER_CONNECTION=str(MAX_SUBSCRIPTIONS),
        TESTRUN_ARTIFACTS_DIR=str(shared_artifacts),
    ) as found:
        yield found


@pytest.fixture(scope="module")
def shared_worker(
    migrated_database_url: str, redis_url: str, shared_artifacts: Path
) -> Iterator[Path]:
    """A `testrun worker` shared by a module's tests; yields its artifacts folder."""
    with worker_process(migrated_database_url, redis_url, shared_artifacts):
        yield shared_artifacts


@pytest.fixture
async def writer(
    committing_session_factory: async_sessionmaker[AsyncSession], redis_url: str
) -> AsyncIterator[Writer]:
    found = await Writer.create(committing_session_factory, redis_url)
    yield found
    await found.aclose()


@pytest.fixture
def worker(migrated_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Worker]:
    """A `testrun worker` of the test's own, logging JSON lines."""
    with worker_process(migrated_database_url, redis_url, tmp_path / "artifacts") as found:
        yield found


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the pages' screenshots go: TESTRUN_SCREENSHOTS_DIR (e.g. docs/) or a temp dir."""
    folder = Path(os.environ.get("TESTRUN_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
