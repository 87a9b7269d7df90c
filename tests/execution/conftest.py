"""Fixtures of the engine tests: a running engine and a team (pages: tests/fixtures/pages.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.engine import Engine
from execution.sandboxes.cdp import CdpSandboxProvider
from tests.execution.engine_harness import Team, start_engine, stop_engine
from tests.fixtures.chromium_fleet import FleetBrowser


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
def cdp_engine(
    migrated_database_url: str, stub_broker: StubBroker, artifacts: Path, fleet: list[FleetBrowser]
) -> Iterator[Engine]:
    """A running engine whose sandboxes are contexts on a fleet of two Chromium processes.

    Opening a context costs far less than launching a browser, so item durations are
    mostly the test case's own.
    """
    provider = CdpSandboxProvider([browser.url for browser in fleet])
    found, worker = start_engine(migrated_database_url, stub_broker, artifacts, provider=provider)
    yield found
    stop_engine(found, worker)


@pytest.fixture
async def team(committing_session_factory: async_sessionmaker[AsyncSession]) -> Team:
    return await Team.create(committing_session_factory)
