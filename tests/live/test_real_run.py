"""A real run, executed by a `testrun worker` in Chromium, watched live through `testrun api`."""

from __future__ import annotations

import pytest

from models.enums import Role
from tests.execution.engine_harness import login_steps
from tests.live.harness import Api, Worker, Writer, start_and_follow


@pytest.mark.slow
async def test_events_of_a_real_run_arrive_in_order_with_nothing_missing(
    api: Api, worker: Worker, writer: Writer, site: str
) -> None:
    cases = [{"proven_steps": login_steps(site)}, {"proven_steps": login_steps(site)}]
    run_id = await writer.team.run_of(cases)
    token = await writer.token(Role.EDITOR)

    received, snapshots = await start_and_follow(api, token, run_id)

    logged = await writer.team.events(run_id)
    assert [event["seq"] for event in received] == list(range(1, len(logged) + 1))
    assert [event["type"] for event in received] == [event.type for event in logged]
    assert [event["type"] for event in received].count("step.completed") == 10
    assert received[-1]["type"] == "run.completed"
    assert snapshots[0]["status"] == "PENDING"
    assert any(item["status"] == "RUNNING" for s in snapshots for item in s["items"])
    final = snapshots[-1]
    assert (final["totalTests"], final["passedTests"], final["failedTests"]) == (2, 2, 0)
    assert [(i["status"], i["currentStep"], i["totalSteps"]) for i in final["items"]] == [
        ("PASSED", 5, 5),
        ("PASSED", 5, 5),
    ]
