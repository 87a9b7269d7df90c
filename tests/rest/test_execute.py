"""`POST /api/runs/execute` of runs-execute.md: start by run id and tenant."""

from __future__ import annotations

import uuid

import httpx
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE
from tests.factories import make_item, make_run, make_test_case
from tests.fixtures.http import Caller


async def test_execute_starts_the_run(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, stub_broker: StubBroker
) -> None:
    run = await make_run(session, editor.project, editor.user)
    for _ in range(3):
        await make_item(session, run, await make_test_case(session, editor.project))
    response = await client.post(
        "/api/runs/execute",
        headers=editor.headers,
        json={"run_id": str(run.id), "tenant_id": editor.project.tenant_id},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "run_id": str(run.id),
        "message": "Test run started with 3 test cases",
    }
    assert stub_broker.queues[RUNS_QUEUE].qsize() == 1
    read = await client.get(f"/api/v1/test-runs/{run.id}", headers=editor.headers)
    assert read.json()["status"] == "running"

    again = await client.post(
        "/api/runs/execute",
        headers=editor.headers,
        json={"run_id": str(run.id), "tenant_id": editor.project.tenant_id},
    )
    assert again.status_code == 422
    assert again.json() == {"detail": "Cannot start test run: status is 'running'"}


async def test_another_tenant_or_an_unknown_run_is_404(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user)
    unknown = uuid.uuid4()
    for run_id, tenant_id in [
        (str(run.id), "someone-else"),
        (str(unknown), editor.project.tenant_id),
        ("run123", editor.project.tenant_id),
    ]:
        response = await client.post(
            "/api/runs/execute",
            headers=editor.headers,
            json={"run_id": run_id, "tenant_id": tenant_id},
        )
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"Test run not found: {run_id}"}
    read = await client.get(f"/api/v1/test-runs/{run.id}", headers=editor.headers)
    assert read.json()["status"] == "pending"


async def test_execute_needs_both_ids(client: httpx.AsyncClient, editor: Caller) -> None:
    response = await client.post("/api/runs/execute", headers=editor.headers, json={"run_id": ""})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["run_id", "tenant_id"]
