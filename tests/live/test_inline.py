"""Inline mode: a `testrun api` with TESTRUN_INLINE=1 and no Redis executes runs itself."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.reaper import ABANDONED
from execution.sandboxes.chromium import find_chromium
from models.database import transaction
from models.enums import Role
from models.results import TestRunResult
from models.runs import TestRunItem
from resolvers.tokens import create_api_token
from tests.execution.engine_harness import Team, login_steps, step
from tests.live.harness import Api, api_process, scrape, start_and_follow


def inline_settings(tmp_path: Path) -> dict[str, str]:
    return {
        "TESTRUN_INLINE": "1",
        "TESTRUN_CHROMIUM": str(find_chromium(None)),
        "TESTRUN_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "TESTRUN_STEP_TIMEOUT_MS": "5000",
        "TESTRUN_METRICS_PUBLIC": "1",
    }


@pytest.fixture
def inline_api(migrated_database_url: str, tmp_path: Path) -> Iterator[Api]:
    # No REDIS_URL at all: nothing in the process can reach a Redis.
    with api_process(migrated_database_url, None, **inline_settings(tmp_path)) as found:
        yield found


@pytest.fixture
async def team(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Team]:
    yield await Team.create(committing_session_factory)


async def editor_token(team: Team) -> str:
    async with transaction(team.sessions) as session:
        _, secret = await create_api_token(
            session, user_id=team.user.id, project_id=team.project.id, role=Role.EDITOR
        )
    return secret


async def test_readyz_reports_inline_mode_without_redis(inline_api: Api) -> None:
    response = httpx.get(f"{inline_api.http_url}/readyz", timeout=5)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "inline"
    assert body["checks"] == {"postgres": "ok"}
    assert "unavailable in inline mode" in body["live_view"]
    assert "api ready in inline mode" in inline_api.output.drain()


@pytest.mark.slow
async def test_a_whole_run_streams_live_with_no_redis(
    inline_api: Api, team: Team, site: str
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}] * 2)
    token = await editor_token(team)

    received, snapshots = await start_and_follow(inline_api, token, run_id)

    logged = await team.events(run_id)
    assert [event["seq"] for event in received] == list(range(1, len(logged) + 1))
    assert [event["type"] for event in received] == [event.type for event in logged]
    assert [event["type"] for event in received].count("step.completed") == 10
    final = snapshots[-1]
    assert (final["totalTests"], final["passedTests"], final["failedTests"]) == (2, 2, 0)
    # The local live view relays frames through Redis: inline mode gives no URL for it.
    assert [item["vncUrl"] for item in final["items"]] == [None, None]
    assert error_free(inline_api)


def error_free(api: Api) -> bool:
    printed = api.output.drain()
    return "Traceback" not in printed and "ERROR" not in printed


@pytest.mark.slow
async def test_rest_start_and_runs_execute_return_at_once_and_complete(
    inline_api: Api, team: Team, site: str
) -> None:
    slow = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=1)]
    by_rest = await team.run_of([{"proven_steps": slow}])
    by_execute = await team.run_of([{"proven_steps": login_steps(site)}])
    headers = {"Authorization": f"Bearer {await editor_token(team)}"}

    async with httpx.AsyncClient(base_url=inline_api.http_url, headers=headers) as client:
        started = await client.post(f"/api/v1/test-runs/{by_rest}/start", json={})
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "running"
        # The item waits a whole second in its browser: it cannot have ended by now.
        assert (await team.run(by_rest)).status == "running"
        executed = await client.post(
            "/api/runs/execute",
            json={"run_id": str(by_execute), "tenant_id": team.project.tenant_id},
        )
        assert executed.status_code == 200, executed.text
        assert executed.json()["success"] is True

    for run_id in (by_rest, by_execute):
        run = await team.wait_final(run_id, timeout_s=60)
        assert (run.status, run.passed_tests, run.failed_tests) == ("completed", 1, 0)


@pytest.mark.slow
async def test_items_interrupted_by_shutdown_are_replayed_after_a_restart(
    migrated_database_url: str, tmp_path: Path, team: Team, site: str
) -> None:
    run_id, headers = await waiting_run(team, site, wait_s=3)
    settings = inline_settings(tmp_path) | {"TESTRUN_INLINE_REAP_EVERY_S": "0.2"}

    with api_process(migrated_database_url, None, **settings) as api:
        started = httpx.post(f"{api.http_url}/api/v1/test-runs/{run_id}/start", headers=headers)
        assert started.status_code == 200, started.text
        await until(lambda: current_step(team, run_id), 1)
        api.process.send_signal(signal.SIGTERM)
        api.process.wait(timeout=30)
        assert "1 executions interrupted by shutdown" in api.output.drain()

    (item,) = await items(team, run_id)
    assert (item.status, item.attempt) == ("running", 1)  # nobody executes it now
    async with transaction(team.sessions) as session:
        # Time passing without a heartbeat, as the process that held the item left it.
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id == item.id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
        )

    with api_process(migrated_database_url, None, **settings) as api:
        run = await team.wait_final(run_id, timeout_s=60)
        metrics = scrape(f"{api.http_url}/metrics", token=None)

    (item,) = await items(team, run_id)
    # The same reaper as a scheduler's: the result the interrupted execution left open is
    # closed as abandoned, and the item replays from its first step in a new task.
    assert (run.status, run.passed_tests, item.status, item.attempt) == (
        "completed",
        1,
        "passed",
        2,
    )
    async with team.sessions() as session:
        results = list(
            await session.scalars(select(TestRunResult).where(TestRunResult.test_run_id == run_id))
        )
    assert sorted((r.status, r.error_message) for r in results) == [
        ("failed", ABANDONED),
        ("passed", None),
    ]
    assert "item.requeued" in [event.type for event in await team.events(run_id)]
    assert metrics[("testrun_reaper_items_total", ())] == 1
    assert metrics[("testrun_runs", (("status", "completed"),))] == 1
    # No Redis: no queue to measure.
    assert not [name for name, _ in metrics if name.startswith("testrun_queue")]


async def test_a_stop_reaches_the_executing_item_through_the_in_memory_bus(
    migrated_database_url: str, tmp_path: Path, team: Team, site: str
) -> None:
    run_id, headers = await waiting_run(team, site, wait_s=600)
    # The longest heartbeat there is, twice the deadline of `until`: only the bus is in time.
    settings = inline_settings(tmp_path) | {
        "TESTRUN_HEARTBEAT_EVERY_S": "60",
        "TESTRUN_REAP_AFTER_S": "120",
    }

    with api_process(migrated_database_url, None, **settings) as api:
        async with httpx.AsyncClient(base_url=api.http_url, headers=headers) as client:
            started = await client.post(f"/api/v1/test-runs/{run_id}/start", json={})
            assert started.status_code == 200, started.text
            await until(lambda: current_step(team, run_id), 2)
            stopped = await client.post(f"/api/v1/test-runs/{run_id}/stop")
            assert stopped.status_code == 200, stopped.text
        await until(lambda: ended_results(team, run_id), 1)
        assert error_free(api)

    async with team.sessions() as session:
        (result,) = await session.scalars(
            select(TestRunResult).where(TestRunResult.test_run_id == run_id)
        )
    assert (result.status, result.error_message) == ("skipped", "Stopped")
    (item,) = await items(team, run_id)
    assert item.status == "skipped"


async def waiting_run(team: Team, site: str, *, wait_s: int) -> tuple[uuid.UUID, dict[str, str]]:
    """A run whose one test case waits `wait_s` in its page, and an editor's headers."""
    waiting = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=wait_s)]
    run_id = await team.run_of([{"proven_steps": waiting}])
    return run_id, {"Authorization": f"Bearer {await editor_token(team)}"}


async def ended_results(team: Team, run_id: uuid.UUID) -> int:
    async with team.sessions() as session:
        found = await session.scalars(
            select(TestRunResult).where(
                TestRunResult.test_run_id == run_id, TestRunResult.completed_at.is_not(None)
            )
        )
        return len(found.all())


async def items(team: Team, run_id: uuid.UUID) -> list[TestRunItem]:
    async with team.sessions() as session:
        return list(await session.scalars(select(TestRunItem).filter_by(test_run_id=run_id)))


async def current_step(team: Team, run_id: uuid.UUID) -> int:
    return max(item.current_step or 0 for item in await items(team, run_id))


async def until(read: Callable[[], Awaitable[int]], wanted: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while await read() < wanted:
        assert time.monotonic() < deadline, f"never reached {wanted}"
        await asyncio.sleep(0.05)
