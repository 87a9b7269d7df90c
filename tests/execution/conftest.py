"""Fixtures of the engine tests: a site to test, an artifacts folder, a running engine, a team."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.engine import Engine
from tests.execution.engine_harness import Team, serve_pages, start_engine, stop_engine


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    with serve_pages(root) as url:
        yield url


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def running_engine(
    migrated_database_url: str,
    committing_session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
    artifacts: Path,
) -> Iterator[Engine]:
    found, worker = start_engine(migrated_database_url, stub_broker, artifacts)
    yield found
    stop_engine(found, worker)


@pytest.fixture
async def team(committing_session_factory: async_sessionmaker[AsyncSession]) -> Team:
    return await Team.create(committing_session_factory)
