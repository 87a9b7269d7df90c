"""The spec's "Manual Test Run Workflow" over REST, end to end, as a client executor does it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_test_case
from tests.fixtures.http import Caller

ISO_WITH_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _steps(count: int, *, failing: int | None = None) -> list[dict[str, object]]:
    return [
        {
            "step_number": number,
            "action": "click_element",
            "description": f"Step {number}",
            "status": "failed" if number == failing else "passed",
            "started_at": "2026-01-17T10:05:05Z",
            "completed_at": "2026-01-17T10:05:06Z",
            "error_message": "Element not found: #search-results" if number == failing else None,
        }
        for number in range(1, count + 1)
    ]


async def test_manual_test_run_workflow(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    login = await make_test_case(session, editor.project, name="Login Test")
    search = await make_test_case(session, editor.project, name="Search Test")
    headers = editor.headers

    # 1. create the run
    created = await client.post(
        "/api/v1/test-runs",
        headers=headers,
        json={
            "run_name": "Smoke Test Run",
            "suite_path": ["ROOT", "Regression", "Smoke"],
            "suite_name": "Smoke",
            "parallel_enabled": True,
            "parallel_count": 3,
            # A failed item would wait for its retry; this client does not retry.
            "retry_on_failure": False,
            "retry_count": 0,
            "tags": ["smoke", "daily"],
            "notes": "Daily smoke test",
            "executor": "client",
        },
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["run_number"] == 1
    assert run["status"] == "pending"
    assert run["project_id"] == str(editor.project.id)
    assert run["created_by"] == str(editor.user.id)
    assert run["pass_rate"] == 0
    assert run["tags"] == ["smoke", "daily"]
    assert ISO_WITH_ZONE.match(run["created_at"]), run["created_at"]
    run_id = run["id"]

    # 2. add the test cases
    added = await client.post(
        f"/api/v1/test-runs/{run_id}/items/bulk",
        headers=headers,
        json={"test_case_ids": [str(login.id), str(search.id)]},
    )
    assert added.status_code == 201, added.text
    assert added.json()["total_added"] == 2
    items = added.json()["items"]
    assert [item["execution_order"] for item in items] == [1, 2]
    assert {item["status"] for item in items} == {"pending"}

    # 3-4. start: the server marks it running
    started = await client.post(
        f"/api/v1/test-runs/{run_id}/start",
        headers=headers,
        json={"browser_name": "chromium", "viewport_width": 1920, "viewport_height": 1080},
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running"
    assert started.json()["message"] == "Test run started with 2 test cases"
    assert ISO_WITH_ZONE.match(started.json()["started_at"])

    # 5-9. execute locally, submit each result with its steps, checkpoints and logs
    outcomes = {str(login.id): ("passed", None), str(search.id): ("failed", 2)}
    result_ids = []
    for item in items:
        status, failing = outcomes[item["test_case_id"]]
        submitted = await client.post(
            "/api/v1/test-run-results",
            headers=headers,
            json={
                "test_run_id": run_id,
                "test_run_item_id": item["id"],
                "test_case_id": item["test_case_id"],
                "status": status,
                "started_at": "2026-01-17T10:05:05Z",
                "completed_at": "2026-01-17T10:07:30Z",
                "duration_ms": 145000,
                "error_message": "Element not found: #search-results" if failing else None,
                "initial_url": "https://example.com/login",
                "final_url": "https://example.com/dashboard",
                "environment_info": {"browser_name": "chromium", "viewport_width": 1920},
            },
        )
        assert submitted.status_code == 201, submitted.text
        result_id = submitted.json()["id"]
        result_ids.append(result_id)

        steps = await client.post(
            f"/api/v1/test-run-results/{result_id}/steps/bulk",
            headers=headers,
            json={"steps": _steps(3, failing=failing)},
        )
        assert steps.status_code == 201, steps.text
        assert steps.json() == {"test_run_result_id": result_id, "total_added": 3}

        checkpoint = await client.post(
            f"/api/v1/test-run-results/{result_id}/checkpoints",
            headers=headers,
            json={
                "checkpoint_name": "Dashboard visible",
                "checkpoint_type": "element",
                "status": "passed",
                "selector": "#dashboard",
                "property_verifications": [
                    {"property_name": "text", "expected_value": "Hi", "actual_value": "Hi"}
                ],
            },
        )
        assert checkpoint.status_code == 201, checkpoint.text
        assert checkpoint.json()["checkpoint_name"] == "Dashboard visible"

        logs = await client.post(
            f"/api/v1/test-run-results/{result_id}/console-logs/bulk",
            headers=headers,
            json={
                "logs": [
                    {"log_level": "info", "message": "loaded", "timestamp": "2026-01-17T10:05:06Z"},
                    {"log_level": "error", "message": "boom", "timestamp": "2026-01-17T10:05:07Z"},
                ]
            },
        )
        assert logs.status_code == 201, logs.text
        assert logs.json()["total_added"] == 2

    # 10-11. the server rolled the statistics up and completed the run
    summary = await client.get(f"/api/v1/test-runs/{run_id}/summary", headers=headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["status"] == "completed"
    assert {
        key: body["summary"][key]
        for key in (
            "total_tests",
            "passed_tests",
            "failed_tests",
            "pass_rate",
            "total_steps",
            "passed_steps",
            "failed_steps",
            "total_checkpoints",
            "passed_checkpoints",
        )
    } == {
        "total_tests": 2,
        "passed_tests": 1,
        "failed_tests": 1,
        "pass_rate": 50.0,
        "total_steps": 6,
        "passed_steps": 5,
        "failed_steps": 1,
        "total_checkpoints": 2,
        "passed_checkpoints": 2,
    }
    by_name = {item["test_case_name"]: item for item in body["items"]}
    assert by_name["Login Test"]["status"] == "passed"
    assert by_name["Login Test"]["pass_rate"] == 100.0
    assert by_name["Search Test"]["status"] == "failed"
    assert by_name["Search Test"]["error_message"] == "Element not found: #search-results"
    assert ISO_WITH_ZONE.match(body["completed_at"])

    # what was submitted reads back
    steps = await client.get(f"/api/v1/test-run-results/{result_ids[1]}/steps", headers=headers)
    assert steps.status_code == 200
    assert steps.json()["total"] == 3
    assert [step["status"] for step in steps.json()["items"]] == ["passed", "failed", "passed"]
    step = await client.get(f"/api/v1/test-run-results/{result_ids[1]}/steps/2", headers=headers)
    assert step.json()["error_message"] == "Element not found: #search-results"
    console = await client.get(
        f"/api/v1/test-run-results/{result_ids[0]}/console-logs", headers=headers
    )
    assert [log["message"] for log in console.json()["items"]] == ["loaded", "boom"]
    history = await client.get(f"/api/v1/test-cases/{search.id}/history", headers=headers)
    assert history.status_code == 200, history.text
    assert history.json()["test_case_name"] == "Search Test"
    assert history.json()["history"][0]["status"] == "failed"
    assert history.json()["statistics"]["failed"] == 1
