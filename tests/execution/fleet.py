"""Real `testrun worker` and `testrun scheduler` processes, for the recovery tests."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from execution.sandboxes.chromium import find_chromium
from models.results import TestRunResult
from models.runs import RunEvent, TestRunItem
from tests.execution.engine_harness import Team, step
from tests.processes import Output, cli_env, started

# Fast enough that a test waits seconds, slow enough for a loaded two-core machine.
HEARTBEAT_EVERY_S = "0.5"
REAP_AFTER_S = "3"


@dataclass
class Fleet:
    """Workers and a scheduler sharing one PostgreSQL and one Redis."""

    env: dict[str, str]
    stack: ExitStack
    workers: dict[int, tuple[subprocess.Popen[str], Output]] = field(default_factory=dict)
    scheduler: tuple[subprocess.Popen[str], Output] | None = None

    def start_worker(self) -> int:
        """A new worker, once it is ready: its pid."""
        process, output = self.stack.enter_context(
            started("worker", "--threads", "2", env=self.env)
        )
        output.wait_for("worker ready", timeout=60)
        self.workers[process.pid] = (process, output)
        return process.pid

    def start_scheduler(self) -> None:
        """The scheduler (whose reaper repairs what dead workers left), once it is ready."""
        process, output = self.stack.enter_context(started("scheduler", env=self.env))
        output.wait_for("scheduler ready", timeout=60)
        self.scheduler = (process, output)

    def kill(self, pid: int) -> None:
        """SIGKILL a worker: no cleanup, no goodbye, as when a machine dies."""
        process, _ = self.workers.pop(pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        """Everything the live processes printed, for assertion messages."""
        printed = [output.drain() for _, output in self.workers.values()]
        if self.scheduler is not None:
            printed.append(self.scheduler[1].drain())
        return "\n".join(printed)

    def stop(self) -> None:
        """SIGTERM every process and wait for it (their browsers close on the way out)."""
        processes = [process for process, _ in self.workers.values()]
        if self.scheduler is not None:
            processes.append(self.scheduler[0])
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def fleet(database_url: str, redis_url: str, artifacts: Path, **settings: str) -> Iterator[Fleet]:
    """A fleet with fast heartbeats and reaping (override with TESTRUN_... `settings`)."""
    env = cli_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TESTRUN_CHROMIUM=str(find_chromium(None)),
        TESTRUN_ARTIFACTS_DIR=str(artifacts),
        TESTRUN_HEARTBEAT_EVERY_S=HEARTBEAT_EVERY_S,
        TESTRUN_REAP_AFTER_S=REAP_AFTER_S,
        TESTRUN_LOG_LEVEL="info",
        **settings,
    )
    with ExitStack() as stack:
        found = Fleet(env, stack)
        try:
            yield found
        finally:
            found.stop()


def waiting_case(site: str, seconds: float) -> dict[str, object]:
    """A test case that opens a page, waits `seconds` (a kill lands there), then checks it."""
    return {
        "proven_steps": [
            step(1, "navigate_to", url=f"{site}/login.html"),
            step(2, "wait", seconds=seconds),
            step(3, "assert_text_present", text="Log in"),
        ]
    }


async def executing_worker(
    team: Team, item_id: uuid.UUID, *, after_step: int, timeout_s: float = 60
) -> int:
    """The pid of the worker executing the item, once it has recorded step `after_step`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with team.sessions() as session:
            item = await session.get(TestRunItem, item_id, populate_existing=True)
            assert item is not None
            done = await session.scalar(
                select(RunEvent.id).where(
                    RunEvent.test_run_id == item.test_run_id,
                    RunEvent.type == "step.completed",
                    RunEvent.payload["step_number"].as_integer() == after_step,
                )
            )
        if done is not None and item.status == "running" and item.claimed_by:
            return int(item.claimed_by.rsplit(":", 1)[1])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no worker recorded step {after_step} of item {item_id}")


async def open_results(team: Team, run_id: uuid.UUID) -> list[TestRunResult]:
    """The run's results that no execution closed."""
    async with team.sessions() as session:
        return list(
            await session.scalars(
                select(TestRunResult).where(
                    TestRunResult.test_run_id == run_id, TestRunResult.completed_at.is_(None)
                )
            )
        )
