"""TESTRUN_MAX_RUNNING_ITEMS: two `testrun worker` processes never run more items at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.broker import create_broker
from execution.sandboxes.chromium import find_chromium
from models.enums import FINAL_RUN_STATUSES
from models.runs import TestRun, TestRunItem
from tests.execution.engine_harness import Team, step
from tests.processes import Output, cli_env, started

CAP = 2


@pytest.fixture
def capped_workers(
    migrated_database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[list[Output]]:
    env = cli_env(
        DATABASE_URL=migrated_database_url,
        REDIS_URL=redis_url,
        TESTRUN_CHROMIUM=str(find_chromium(None)),
        TESTRUN_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        TESTRUN_MAX_RUNNING_ITEMS=str(CAP),
    )
    with ExitStack() as stack:
        workers = [
            stack.enter_context(started("worker", "--concurrency", "3", env=env)) for _ in range(2)
        ]
        for _, output in workers:
            output.wait_for("worker ready", timeout=60)
        yield [output for _, output in workers]
        for process, _ in workers:
            process.send_signal(signal.SIGTERM)
        for process, _ in workers:
            process.wait(timeout=30)


@pytest.fixture
async def team(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Team]:
    yield await Team.create(committing_session_factory)


@pytest.mark.slow
async def test_three_runs_of_two_items_never_run_more_than_the_cap(
    capped_workers: list[Output], team: Team, site: str, redis_url: str
) -> None:
    waiting = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=1)]
    run_ids = [
        await team.run_of([{"proven_steps": waiting}] * 2, parallel_enabled=True, parallel_count=2)
        for _ in range(3)
    ]
    broker = create_broker(redis_url)
    try:
        for run_id in run_ids:
            await team.start(run_id, broker)
    finally:
        broker.close()

    most_running = 0
    run_statuses: set[str] = set()

    async def stuck() -> str:
        async with team.sessions() as session:
            items = (
                await session.execute(select(TestRunItem.test_run_id, TestRunItem.status))
            ).all()
            found = (await session.execute(select(TestRun.id, TestRun.status))).all()
        printed = "".join(output.drain() for output in capped_workers)
        return f"runs {found}\nitems {items}\nworkers printed:\n{printed}"

    deadline = asyncio.get_running_loop().time() + 90
    while True:
        assert asyncio.get_running_loop().time() < deadline, await stuck()
        async with team.sessions() as session:
            running = await session.scalar(
                select(func.count()).where(TestRunItem.status == "running")
            )
            statuses = list(
                await session.scalars(select(TestRun.status).where(TestRun.id.in_(run_ids)))
            )
        most_running = max(most_running, running or 0)
        run_statuses.update(statuses)
        if all(status in FINAL_RUN_STATUSES for status in statuses):
            break
        await asyncio.sleep(0.05)

    assert most_running == CAP
    # Six items could run at once; the ones over the cap waited, their runs `queued`.
    assert "queued" in run_statuses
    for run_id in run_ids:
        run = await team.run(run_id)
        assert (run.status, run.passed_tests) == ("completed", 2)
    queued_events = [
        event
        for run_id in run_ids
        for event in await team.events(run_id)
        if event.type == "run.updated" and event.payload.get("status") == "queued"
    ]
    assert queued_events
