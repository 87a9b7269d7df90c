"""Many items at once on one worker over a remote browser fleet (`TESTRUN_SANDBOX=cdp`).

For N = 10, 100 and 200 concurrent items (runs of 10 items, `parallel_count` 10), each
item navigating to a local page, waiting 1 s five times and asserting, on a fleet of
local Chromium processes serving DevTools, one `testrun worker --concurrency 200`
process prints:
- the state-update latency, from a step's end (its stored `completed_at`) to its
  `step.completed` event at a Redis subscriber of the project's channel, p50 and p99;
- the worker's CPU per step (its Python process; the Playwright driver it talks to is
  printed apart), and its peak RSS;
- items finished per minute, and how many did not pass.
Beside it, the floor: the same pages driven by a plain Playwright script over the same
fleet, N at once, each browser opening as many contexts at once as the worker's cdp
provider lets it (`OPENING_PER_ENDPOINT`): opened all at once, 200 contexts thrash two
cores until their navigations time out, by hand as through the engine. The fleet stands
in for browsers on other hosts: it runs at the lowest CPU priority (`FLEET_NICENESS`), so
what the worker, PostgreSQL and Redis need comes first, as it would with a real fleet
(started at normal priority, the browsers opening renderers take the two cores and
the worker's figures measure that wait). Targets on a 2-core machine: p99 <= 100 ms at
200 items, worker CPU <= 2 ms per step, nothing failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright
from redis.asyncio import Redis
from sqlalchemy import select

from bench._stack import bench_caller, databases, percentile, start_bench_run
from bench.replay import serve
from execution.broker import create_broker
from execution.dispatch import QueueDispatcher
from execution.sandboxes.cdp import OPENING_PER_ENDPOINT
from models.database import create_engine, create_session_factory, transaction
from models.enums import FINAL_RUN_STATUSES, Role
from models.results import TestRunResult, TestStepResult
from models.runs import TestRun, TestRunItem
from resolvers.events import project_channel
from resolvers.tokens import Principal
from tests.fixtures.chromium_fleet import chromium_fleet

LEVELS = (10, 100, 200)
FLEET = 3
FLEET_NICENESS = 19
RUN_SIZE = 10  # items per run, all at once (parallel_count's maximum)
WAITS = 5
STEPS = WAITS + 2  # navigate, the waits, assert


def proven_steps(site: str) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [
        {"action": "navigate_to", "url": f"{site}/login.html"},
        *({"action": "wait", "seconds": 1} for _ in range(WAITS)),
        {"action": "assert_text_present", "text": "Log in"},
    ]
    return [
        {"step_number": number, "tool_name": "e2b_browser", "arguments": arguments}
        for number, arguments in enumerate(actions, start=1)
    ]


async def plain_playwright(urls: list[str], site: str, count: int) -> tuple[float, int]:
    """Seconds for `count` items at once, by hand, over the fleet's browsers; how many failed."""
    async with async_playwright() as driver:
        browsers = [await driver.chromium.connect_over_cdp(url) for url in urls]
        gates = [asyncio.Semaphore(OPENING_PER_ENDPOINT) for _ in browsers]

        async def item(number: int) -> bool:
            async with gates[number % len(browsers)]:
                context = await browsers[number % len(browsers)].new_context()
                page = await context.new_page()
            try:
                await page.goto(f"{site}/login.html")
                for _ in range(WAITS):
                    await page.wait_for_timeout(1000)
                await page.get_by_text("Log in").wait_for()
            except PlaywrightError:
                return False
            finally:
                await context.close()
            return True

        started = time.monotonic()
        done = await asyncio.gather(*(item(number) for number in range(count)))
        elapsed = time.monotonic() - started
        for browser in browsers:
            await browser.close()
    return elapsed, done.count(False)


class Load:
    """Runs started as the API starts them, and a subscriber timing their step events."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database = create_engine(database_url, pool_size=4)
        self.sessions = create_session_factory(self.database)
        self.dispatcher = QueueDispatcher(create_broker(redis_url))
        self.redis = Redis.from_url(redis_url)
        self.principal: Principal | None = None
        self.received: dict[tuple[str, int], float] = {}

    async def setup(self) -> None:
        async with transaction(self.sessions) as session:
            user, project, _ = await bench_caller(session, Role.EDITOR)
        self.principal = Principal(
            token_id=uuid.uuid4(),
            user_id=user.id,
            project_id=project.id,
            tenant_id="bench",
            role=Role.EDITOR,
        )

    async def listen(self, ready: asyncio.Event) -> None:
        assert self.principal is not None
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(project_channel(self.principal.project_id))
        ready.set()
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            now = time.time()
            event = json.loads(message["data"])
            if event["type"] == "step.completed":
                payload = event["payload"]
                self.received[(payload["result_id"], payload["step_number"])] = now

    async def start_run(self, steps: list[dict[str, Any]]) -> uuid.UUID:
        assert self.principal is not None
        return await start_bench_run(
            self.sessions,
            self.principal,
            self.dispatcher,
            [steps] * RUN_SIZE,
            name="Waits",
            parallel_enabled=True,
            parallel_count=RUN_SIZE,
        )

    async def level(self, site: str, count: int) -> dict[str, Any]:
        self.received.clear()
        started = time.monotonic()
        run_ids = [await self.start_run(proven_steps(site)) for _ in range(count // RUN_SIZE)]
        while True:
            async with self.sessions() as session:
                statuses = list(
                    await session.scalars(select(TestRun.status).where(TestRun.id.in_(run_ids)))
                )
            if all(status in FINAL_RUN_STATUSES for status in statuses):
                break
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.5)  # the last events in flight
        async with self.sessions() as session:
            items = list(
                await session.scalars(
                    select(TestRunItem.status).where(TestRunItem.test_run_id.in_(run_ids))
                )
            )
            steps = (
                await session.execute(
                    select(
                        TestStepResult.test_run_result_id,
                        TestStepResult.step_number,
                        TestStepResult.completed_at,
                    )
                    .join(TestRunResult, TestRunResult.id == TestStepResult.test_run_result_id)
                    .where(TestRunResult.test_run_id.in_(run_ids))
                )
            ).all()
        latencies = [
            (self.received[(str(result_id), number)] - ended.timestamp()) * 1000
            for result_id, number, ended in steps
            if ended is not None and (str(result_id), number) in self.received
        ]
        return {
            "elapsed": elapsed,
            "passed": sum(status == "passed" for status in items),
            "items": len(items),
            "steps": len(steps),
            "events": len(latencies),
            "latencies": latencies,
        }


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def children_cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += cpu_seconds(child)
    return total


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker", "--concurrency", str(max(LEVELS))],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "worker ready" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (it drains and closes its connections), SIGKILL if it has not ended in 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    """Run the benchmark and print its figures."""
    root = Path(tempfile.mkdtemp(prefix="testrun-bench-concurrency-"))
    (root / "site").mkdir()
    pages, site = serve(root / "site")
    with (
        databases() as (database_url, redis_url),
        chromium_fleet(FLEET, name="bench", niceness=FLEET_NICENESS) as fleet,
        contextlib.ExitStack() as cleanup,
    ):
        cleanup.callback(pages.shutdown)
        urls = [browser.url for browser in fleet]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("TESTRUN_") and key not in ("DATABASE_URL", "REDIS_URL")
        } | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TESTRUN_SANDBOX": "cdp",
            "TESTRUN_CDP_URLS": ",".join(urls),
            "TESTRUN_ARTIFACTS_DIR": str(root / "artifacts"),
        }
        worker = start_worker(env, root / "worker.log")
        cleanup.callback(stop_worker, worker)
        watched = psutil.Process(worker.pid)

        print(
            f"items: navigate, {WAITS} x wait 1 s, assert ({STEPS} steps), runs of {RUN_SIZE} "
            f"at once, on {FLEET} local Chromium over CDP (nice {FLEET_NICENESS}, at most "
            f"{OPENING_PER_ENDPOINT} opening at once each); one worker --concurrency "
            f"{max(LEVELS)}; load average before: {os.getloadavg()[0]:.1f}"
        )

        async def measure() -> None:
            load = Load(database_url, redis_url)
            await load.setup()
            ready = asyncio.Event()
            listening = asyncio.create_task(load.listen(ready))
            await ready.wait()
            await load.level(site, RUN_SIZE)  # warm-up: connections, the fleet's first pages
            for count in LEVELS:
                floor = await plain_playwright(urls, site, count)
                cpu, driver = cpu_seconds(watched), children_cpu_seconds(watched)
                found = await load.level(site, count)
                cpu = cpu_seconds(watched) - cpu
                driver = children_cpu_seconds(watched) - driver
                report(count, floor, found, cpu, driver, _peak_rss_mb(worker.pid))
            listening.cancel()
            await load.redis.aclose()
            await load.database.dispose()

        asyncio.run(measure())


def report(
    count: int,
    floor: tuple[float, int],
    found: dict[str, Any],
    cpu: float,
    driver: float,
    peak: float,
) -> None:
    """Print one level's figures."""
    latencies = found["latencies"] or [float("nan")]
    steps = max(found["steps"], 1)
    print(f"N = {count}")
    print(
        f"  state latency (step end -> Redis subscriber): p50 "
        f"{percentile(latencies, 50):6.1f} ms  p99 {percentile(latencies, 99):6.1f} ms "
        f"({found['events']} of {found['steps']} steps)   goal p99 <= 100 ms"
    )
    print(
        f"  worker CPU {cpu * 1000 / steps:5.2f} ms per step (Playwright driver "
        f"{driver * 1000 / steps:5.2f} ms)   goal <= 2 ms;  peak RSS {peak:6.0f} MB"
    )
    engine_rate = found["items"] / found["elapsed"] * 60
    floor_rate = count / floor[0] * 60
    print(
        f"  items per minute: engine {engine_rate:6.0f}  plain Playwright {floor_rate:6.0f}"
        f"  ({engine_rate / floor_rate:4.2f} x floor);  not passed: "
        f"{found['items'] - found['passed']} of {found['items']} "
        f"(plain Playwright: {floor[1]} failed)",
        flush=True,
    )


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
