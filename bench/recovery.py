"""How fast a run recovers from the SIGKILL of the worker executing it.

Real `testrun worker` and `testrun scheduler` processes with the default heartbeat and
reap settings; a run of one test case that waits a few seconds; the worker executing it is
killed with SIGKILL in the middle of the wait, another worker is up. Prints, per kill, the
seconds from the kill to the run completed, against the floor measured in the same run:
the reap timeout plus the time a clean run of the same test case takes (the silent
worker must be declared lost, then the test case replays from its start).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench._stack import databases
from bench.replay import Bench, serve
from execution.sandboxes.chromium import ensure_chromium
from models.runs import RunEvent, TestRunItem
from server.settings import Settings

KILLS = 3
WAIT_S = 3
GOAL_S = 15


def waiting_case(site: str) -> list[dict[str, Any]]:
    """Open a page, wait WAIT_S seconds, check it: the kill lands in the wait."""
    actions: list[dict[str, Any]] = [
        {"action": "navigate_to", "url": f"{site}/login.html"},
        {"action": "wait", "seconds": WAIT_S},
        {"action": "assert_url_contains", "expected_text": "/login"},
    ]
    return [
        {"step_number": number, "tool_name": "e2b_browser", "arguments": arguments}
        for number, arguments in enumerate(actions, start=1)
    ]


class Fleet:
    """`testrun` worker and scheduler processes, logging to files under `root`."""

    def __init__(self, env: dict[str, str], root: Path, stack: ExitStack) -> None:
        self.env = env
        self.root = root
        self.stack = stack
        self.workers: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, command: str, ready: str) -> subprocess.Popen[bytes]:
        log = self.root / f"{command}-{uuid.uuid4().hex[:6]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", command],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.stack.callback(self._stop, process)
        deadline = time.monotonic() + 60
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"testrun {command} did not start: {log.read_text()}")
            time.sleep(0.1)
        return process

    def start_worker(self) -> None:
        process = self.start("worker", "worker ready")
        self.workers[process.pid] = process

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.workers.pop(pid).wait()

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def executing_pid(bench: Bench, run_id: uuid.UUID) -> int:
    """The worker executing the run's item, once its first step is recorded."""
    while True:
        async with bench.sessions() as session:
            item = await session.scalar(select(TestRunItem).filter_by(test_run_id=run_id))
            step = await session.scalar(
                select(RunEvent.id).filter_by(test_run_id=run_id, type="step.completed")
            )
        if item is not None and step is not None and item.status == "running":
            assert item.claimed_by is not None
            return int(item.claimed_by.rsplit(":", 1)[1])
        await asyncio.sleep(0.02)


async def requeued_at(bench: Bench, run_id: uuid.UUID) -> datetime:
    """When the reaper handed the run's item to another execution."""
    async with bench.sessions() as session:
        found = await session.scalar(
            select(RunEvent.created_at).filter_by(test_run_id=run_id, type="item.requeued")
        )
    assert found is not None
    return found


async def measure(bench: Bench, fleet: Fleet, site: str) -> tuple[float, list[float], list[float]]:
    """A clean run's seconds, and per kill the seconds to the item requeued and run completed."""
    await bench.setup()
    await bench.wait_run(await bench.start_run([waiting_case(site)]))  # warm-up
    started = time.monotonic()
    await bench.wait_run(await bench.start_run([waiting_case(site)]))
    clean = time.monotonic() - started
    detections, recoveries = [], []
    for _ in range(KILLS):
        run_id = await bench.start_run([waiting_case(site)])
        fleet.kill(await executing_pid(bench, run_id))
        killed, killed_at = time.monotonic(), datetime.now(UTC)
        run = await bench.wait_run(run_id)
        recoveries.append(time.monotonic() - killed)
        detections.append((await requeued_at(bench, run_id) - killed_at).total_seconds())
        assert (run.status, run.passed_tests) == ("completed", 1), run.status
        await asyncio.to_thread(fleet.start_worker)  # two workers again for the next kill
    await bench.database.dispose()
    return clean, detections, recoveries


def main() -> None:
    """Run the benchmark and print its figures."""
    settings = Settings()
    chromium = ensure_chromium(None, install=False)
    root = Path(tempfile.mkdtemp(prefix="testrun-bench-recovery-"))
    (root / "site").mkdir()
    pages, site = serve(root / "site")
    with databases() as (database_url, redis_url), ExitStack() as stack:
        stack.callback(pages.shutdown)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TESTRUN_CHROMIUM": str(chromium),
            "TESTRUN_ARTIFACTS_DIR": str(root / "artifacts"),
            "TESTRUN_LOG_LEVEL": "info",  # the ready lines are logged at info
        }
        fleet = Fleet(env, root, stack)
        fleet.start("scheduler", "scheduler ready")
        fleet.start_worker()
        fleet.start_worker()
        bench = Bench(database_url, redis_url)
        clean, detections, recoveries = asyncio.run(measure(bench, fleet, site))

    floor = settings.reap_after_s + clean
    print(
        f"heartbeat every {settings.heartbeat_every_s:g} s, reaped after "
        f"{settings.reap_after_s:g} s (TESTRUN_HEARTBEAT_EVERY_S, TESTRUN_REAP_AFTER_S)"
    )
    print(f"a clean run of the test case ({WAIT_S} s wait): {clean:.1f} s")
    print(f"worker killed with SIGKILL mid-item, another up, {KILLS} times")
    print(
        f"  kill -> item requeued   p50 {statistics.median(detections):5.1f} s   "
        f"max {max(detections):5.1f} s   (at most the reap timeout + a 1 s reaper tick)"
    )
    print(
        f"  kill -> run completed   p50 {statistics.median(recoveries):5.1f} s   "
        f"max {max(recoveries):5.1f} s   "
        f"floor (reap timeout + clean run) {floor:.1f} s   "
        f"ratio {statistics.median(recoveries) / floor:.2f} x floor   (goal: within {GOAL_S} s)"
    )
