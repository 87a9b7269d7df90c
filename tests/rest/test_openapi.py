"""/openapi.json describes every route from the pydantic models; /docs renders it offline."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from server.rest.api import OPERATIONS


async def test_openapi_describes_every_rest_route(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    served = {
        (operation.method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for operation in getattr(route.app, "by_method", {}).values()
    }
    assert described == served == {(op.method, op.path) for op in OPERATIONS}
    assert len(described) == 47

    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/v1/test-runs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TestRunCreate"
    }
    assert schemas["TestRunCreate"]["properties"]["run_name"]["maxLength"] == 255
    # 200: a repeat with the same Idempotency-Key answers the run it created first.
    assert set(create["responses"]) == {"200", "201", "400", "401", "403", "404", "409"}
    assert create["responses"]["200"]["content"] == create["responses"]["201"]["content"]
    assert schemas["TestRun"]["properties"]["created_at"]["format"] == "date-time"
    listing = {p["name"]: p for p in document["paths"]["/api/v1/test-runs"]["get"]["parameters"]}
    assert listing["limit"]["schema"]["maximum"] == 100
    assert listing["status"]["explode"] is False
    idempotency = [p for p in create["parameters"] if p["in"] == "header"]
    assert idempotency[0]["name"] == "Idempotency-Key"
    # Every reference resolves.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', response.text))
    assert refs <= set(schemas)


async def test_docs_render_the_document_without_scripts(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    page = response.text
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?://', page)
    for text in (
        "/api/v1/test-runs/{run_id}/items/bulk",
        "/api/runs/execute",
        'id="schema-TestRunCreate"',
        "Idempotency-Key",
    ):
        assert text in page, text
