"""A run's `priority` through GraphQL and REST: set, changed while it waits, validated."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_run
from tests.fixtures.http import Caller
from tests.graphql import data, error, gql

CREATE = """
mutation Create($input: TestRunInput!) {
  createTestRun(input: $input) { run { id priority } }
}
"""
UPDATE = """
mutation Update($id: UUID!, $input: TestRunUpdateInput!) {
  updateTestRun(id: $id, input: $input) { id priority }
}
"""


async def test_priority_defaults_to_zero_and_is_set_over_graphql(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    plain = data(await gql(client, editor, CREATE, input={"runName": "Plain"}))
    urgent = data(await gql(client, editor, CREATE, input={"runName": "Hotfix", "priority": 50}))

    assert plain["createTestRun"]["run"]["priority"] == 0
    assert urgent["createTestRun"]["run"]["priority"] == 50


async def test_priority_may_change_while_a_run_waits(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user, status="queued")

    changed = data(await gql(client, editor, UPDATE, id=str(run.id), input={"priority": 9}))

    assert changed["updateTestRun"] == {"id": str(run.id), "priority": 9}


async def test_priority_out_of_range_is_a_validation_error_naming_it(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    found = error(await gql(client, editor, CREATE, input={"runName": "x", "priority": 5000}))
    rest = await client.post(
        "/api/v1/test-runs", headers=editor.headers, json={"run_name": "x", "priority": -1001}
    )

    assert found["code"] == "VALIDATION_ERROR"
    assert [field["field"] for field in found["fields"]] == ["priority"]
    assert rest.status_code == 400
    assert rest.json()["errors"] == [
        {"field": "priority", "message": "Must be between -1000 and 1000"}
    ]


async def test_rest_creates_and_returns_the_priority(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await client.post(
        "/api/v1/test-runs", headers=editor.headers, json={"run_name": "CI", "priority": 3}
    )

    assert created.status_code == 201, created.text
    assert created.json()["priority"] == 3
    read = await client.get(f"/api/v1/test-runs/{created.json()['id']}", headers=editor.headers)
    assert read.json()["priority"] == 3
