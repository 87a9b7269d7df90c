"""Fixtures of the engine tests: a running engine and a team (pages: tests/fixtures/pages.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.engine import Engine
from tests.execution.engine_harness import Team, start_engine, stop_engine


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
