"""REST routes of results and their details: lists, a step by number, scripts, network logs."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller

START = datetime(2026, 1, 17, 10, 5, tzinfo=UTC)


async def _client_result(session: AsyncSession, caller: Caller):  # type: ignore[no-untyped-def]
    test_case = await make_test_case(session, caller.project, name="Login Test")
    run = await make_run(
        session, caller.project, caller.user, status="running", executor="client", started_at=START
    )
    item = await make_item(session, run, test_case, status="queued")
    result = await make_result(session, item, started_at=START)
    return run, item, result


async def test_results_of_a_run_and_of_an_item(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run, item, result = await _client_result(session, editor)
    retry = await make_result(session, item, retry_attempt=1, status="failed")
    of_run = await client.get(f"/api/v1/test-runs/{run.id}/results", headers=editor.headers)
    assert of_run.status_code == 200
    assert [row["id"] for row in of_run.json()["items"]] == [str(result.id), str(retry.id)]
    of_item = await client.get(
        f"/api/v1/test-run-items/{item.id}/results?limit=1&offset=1", headers=editor.headers
    )
    assert of_item.json()["total"] == 2
    assert [row["retry_attempt"] for row in of_item.json()["items"]] == [1]
    one = await client.get(f"/api/v1/test-run-results/{result.id}", headers=editor.headers)
    assert one.json()["test_run_item_id"] == str(item.id)


async def test_steps_one_by_one_and_by_number(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    _, _, result = await _client_result(session, editor)
    path = f"/api/v1/test-run-results/{result.id}/steps"
    added = await client.post(
        path,
        headers=editor.headers,
        json={
            "step_number": 1,
            "action": "navigate_to",
            "status": "passed",
            "started_at": "2026-01-17T10:00:10Z",
            "completed_at": "2026-01-17T10:00:12Z",
            "playwright_code": "await page.goto('https://example.com/login');",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["duration_ms"] == 2000
    assert added.json()["started_at"] == "2026-01-17T10:00:10Z"
    twice = await client.post(
        path, headers=editor.headers, json={"step_number": 1, "action": "x", "status": "passed"}
    )
    assert twice.status_code == 409
    assert twice.json() == {"detail": f"Step 1 is already recorded for test run result {result.id}"}
    got = await client.get(f"{path}/1", headers=editor.headers)
    assert got.json()["id"] == added.json()["id"]
    missing = await client.get(f"{path}/2", headers=editor.headers)
    assert missing.status_code == 404
    assert missing.json() == {
        "detail": f"Step result not found: step 2 of test run result {result.id}"
    }
    for bad in ("0", "abc", "99999999999"):
        assert (await client.get(f"{path}/{bad}", headers=editor.headers)).status_code == 404
    counted = await client.get(f"/api/v1/test-run-results/{result.id}", headers=editor.headers)
    assert (counted.json()["total_steps"], counted.json()["passed_steps"]) == (1, 1)


async def test_bulk_steps_name_the_bad_row(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    _, _, result = await _client_result(session, editor)
    steps = [{"step_number": n, "action": "click", "status": "passed"} for n in range(1, 4)]
    steps[2]["status"] = "exploded"
    response = await client.post(
        f"/api/v1/test-run-results/{result.id}/steps/bulk",
        headers=editor.headers,
        json={"steps": steps},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "steps.2.status"


async def test_checkpoints_scripts_and_network_logs(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    _, _, result = await _client_result(session, editor)
    base = f"/api/v1/test-run-results/{result.id}"
    checkpoint = await client.post(
        f"{base}/checkpoints",
        headers=editor.headers,
        json={
            "checkpoint_name": "Title",
            "checkpoint_type": "screenshot",
            "status": "failed",
            "diff_percentage": 12.5,
            "failed_properties": ["text"],
        },
    )
    assert checkpoint.status_code == 201, checkpoint.text
    assert checkpoint.json()["diff_percentage"] == 12.5
    listed = await client.get(f"{base}/checkpoints", headers=editor.headers)
    assert [row["checkpoint_name"] for row in listed.json()["items"]] == ["Title"]

    script = await client.post(
        f"{base}/scripts",
        headers=editor.headers,
        json={
            "script_name": "seed data",
            "script_type": "pre_execution",
            "script_language": "python",
            "status": "failed",
            "exit_code": 1,
            "stderr": "Traceback...",
            "is_critical": True,
        },
    )
    assert script.status_code == 201, script.text
    assert script.json()["exit_code"] == 1
    scripts = await client.get(f"{base}/scripts", headers=editor.headers)
    assert scripts.json()["total"] == 1
    aborted = await client.get(base, headers=editor.headers)
    assert aborted.json()["pre_script_aborted"] is True
    assert aborted.json()["failed_checkpoints"] == 1

    logs = await client.post(
        f"{base}/network-logs/bulk",
        headers=editor.headers,
        json={
            "logs": [
                {
                    "url": "https://example.com/api",
                    "method": "GET",
                    "status_code": 200,
                    "timestamp": "2026-01-17T10:05:06+01:00",
                    "response_headers": {"content-type": "application/json"},
                }
            ]
        },
    )
    assert logs.status_code == 201, logs.text
    network = await client.get(f"{base}/network-logs", headers=editor.headers)
    assert network.json()["items"][0]["timestamp"] == "2026-01-17T09:05:06Z"
    assert network.json()["items"][0]["response_headers"] == {"content-type": "application/json"}


async def test_test_case_history_limit(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    test_case = await make_test_case(session, editor.project)
    response = await client.get(
        f"/api/v1/test-cases/{test_case.id}/history?limit=101", headers=editor.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"
    empty = await client.get(f"/api/v1/test-cases/{test_case.id}/history", headers=editor.headers)
    assert empty.json()["total"] == 0
    assert empty.json()["statistics"]["total_executions"] == 0
