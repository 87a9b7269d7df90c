"""A real run, executed by a `testrun worker` in Chromium, watched live through `testrun api`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from execution.sandboxes.chromium import find_chromium
from models.enums import Role
from tests.execution.engine_harness import login_steps
from tests.live.harness import EVENTS, UPDATES, Api, Writer, subscribed
from tests.processes import cli_env, started

START = """
mutation Start($id: UUID!) { startTestRun(id: $id) { run { status } } }
"""


@pytest.fixture
def worker(migrated_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[None]:
    env = cli_env(
        DATABASE_URL=migrated_database_url,
        REDIS_URL=redis_url,
        TESTRUN_CHROMIUM=str(find_chromium(None)),
        TESTRUN_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
    with started("worker", "--concurrency", "2", env=env) as (process, output):
        output.wait_for("worker ready", timeout=60)
        yield
        process.send_signal(signal.SIGTERM)  # closes its browsers before it exits
        process.wait(timeout=30)


@pytest.mark.slow
async def test_events_of_a_real_run_arrive_in_order_with_nothing_missing(
    api: Api, worker: None, writer: Writer, site: str
) -> None:
    cases = [{"proven_steps": login_steps(site)}, {"proven_steps": login_steps(site)}]
    run_id = await writer.team.run_of(cases)
    token = await writer.token(Role.EDITOR)

    async with (
        subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as events,
        subscribed(api, token, UPDATES, runId=str(run_id)) as updates,
    ):
        await updates.wait_for(lambda results: len(results) == 1)
        async with httpx.AsyncClient(base_url=api.http_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": START, "variables": {"id": str(run_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.json()["data"]["startTestRun"]["run"]["status"] == "RUNNING"
        await asyncio.wait_for(events.done.wait(), 90)
        await updates.wait_for(
            lambda results: results[-1]["testRunUpdates"]["status"] == "COMPLETED", 30
        )

    logged = await writer.team.events(run_id)
    received = [result["testRunEvents"] for result in events.results]
    assert [event["seq"] for event in received] == list(range(1, len(logged) + 1))
    assert [event["type"] for event in received] == [event.type for event in logged]
    assert [event["type"] for event in received].count("step.completed") == 10
    assert received[-1]["type"] == "run.completed"
    snapshots = [result["testRunUpdates"] for result in updates.results]
    assert snapshots[0]["status"] == "PENDING"
    assert any(item["status"] == "RUNNING" for s in snapshots for item in s["items"])
    final = snapshots[-1]
    assert (final["totalTests"], final["passedTests"], final["failedTests"]) == (2, 2, 0)
    assert [(i["status"], i["currentStep"], i["totalSteps"]) for i in final["items"]] == [
        ("PASSED", 5, 5),
        ("PASSED", 5, 5),
    ]
