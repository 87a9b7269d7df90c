"""Test cases over GraphQL: create, read, list, update, soft delete, and every refusal."""

from __future__ import annotations

import uuid

import httpx

from models.enums import Role
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

CREATE = """
mutation Create($input: TestCaseInput!) {
  createTestCase(input: $input) { id name suitePath stepCount provenSteps tags deletedAt }
}
"""
UPDATE = """
mutation Update($id: UUID!, $input: TestCaseInput!) {
  updateTestCase(id: $id, input: $input) { id name description tags stepCount }
}
"""
DELETE = "mutation Delete($id: UUID!) { deleteTestCase(id: $id) { id deletedAt } }"
READ = "query Read($id: UUID!) { testCase(id: $id) { id name } }"
LIST = """
query List($search: String, $suitePath: [String!], $tags: [String!], $limit: Int!, $offset: Int!) {
  testCases(search: $search, suitePath: $suitePath, tags: $tags, limit: $limit, offset: $offset) {
    total limit offset items { name }
  }
}
"""
STEPS = [
    {
        "step_number": 1,
        "tool_name": "e2b_browser",
        "arguments": {"action": "navigate_to", "url": "http://x"},
    },
    {
        "step_number": 2,
        "tool_name": "e2b_browser",
        "arguments": {"action": "click_element", "index": 0},
    },
]


async def create(client: httpx.AsyncClient, caller: Caller, **fields: object) -> dict[str, object]:
    body = await gql(client, caller, CREATE, input={"name": "Login", **fields})
    created: dict[str, object] = data(body)["createTestCase"]
    return created


async def test_create_then_read_a_test_case(client: httpx.AsyncClient, editor: Caller) -> None:
    created = await create(
        client, editor, suitePath=["ROOT", "Smoke"], provenSteps=STEPS, tags=["smoke"]
    )

    assert created["name"] == "Login"
    assert created["stepCount"] == 2
    assert created["provenSteps"] == STEPS
    assert created["deletedAt"] is None
    read = data(await gql(client, editor, READ, id=created["id"]))["testCase"]
    assert read == {"id": created["id"], "name": "Login"}


async def test_list_filters_and_pages(client: httpx.AsyncClient, editor: Caller) -> None:
    for name, path, tags in [
        ("Login", ["ROOT", "Smoke"], ["auth"]),
        ("Logout", ["ROOT", "Smoke", "Auth"], ["auth", "slow"]),
        ("Search", ["ROOT", "Regression"], []),
    ]:
        await create(client, editor, name=name, suitePath=path, tags=tags)

    async def names(**variables: object) -> tuple[list[str], int]:
        page = data(await gql(client, editor, LIST, **{"limit": 20, "offset": 0, **variables}))
        found = page["testCases"]
        return [item["name"] for item in found["items"]], found["total"]

    assert await names() == (["Login", "Logout", "Search"], 3)
    assert await names(suitePath=["ROOT", "Smoke"]) == (["Login", "Logout"], 2)
    assert await names(search="log") == (["Login", "Logout"], 2)
    assert await names(tags=["auth", "slow"]) == (["Logout"], 1)
    assert await names(limit=1, offset=1) == (["Logout"], 3)


async def test_update_changes_only_what_is_given(client: httpx.AsyncClient, editor: Caller) -> None:
    created = await create(client, editor, provenSteps=STEPS, tags=["a"])

    body = await gql(
        client, editor, UPDATE, id=created["id"], input={"description": "checks login"}
    )

    updated = data(body)["updateTestCase"]
    assert updated == {
        "id": created["id"],
        "name": "Login",
        "description": "checks login",
        "tags": ["a"],
        "stepCount": 2,
    }


async def test_delete_is_soft_and_hides_the_test_case(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor)

    deleted = data(await gql(client, editor, DELETE, id=created["id"]))["deleteTestCase"]

    assert deleted["deletedAt"] is not None
    assert error(await gql(client, editor, READ, id=created["id"]))["code"] == "NOT_FOUND"
    listed = data(await gql(client, editor, LIST, limit=20, offset=0))["testCases"]
    assert listed["total"] == 0
    again = error(await gql(client, editor, DELETE, id=created["id"]))
    assert again == {"message": f"Test case not found: {created['id']}", "code": "NOT_FOUND"}


async def test_validation_names_every_field(client: httpx.AsyncClient, editor: Caller) -> None:
    body = await gql(
        client,
        editor,
        CREATE,
        input={
            "name": " ",
            "suiteName": "x" * 256,
            "provenSteps": [{"step_number": 0, "arguments": {}}],
            "tags": [""],
        },
    )

    found = error(body)
    assert found["code"] == "VALIDATION_ERROR"
    assert found["message"] == "Validation error"
    assert sorted(item["field"] for item in found["fields"]) == [
        "name",
        "provenSteps.0.arguments.action",
        "provenSteps.0.stepNumber",
        "suiteName",
        "tags.0",
    ]


async def test_explicit_null_name_on_update_is_a_validation_error(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor)

    found = error(await gql(client, editor, UPDATE, id=created["id"], input={"name": None}))

    assert found["code"] == "VALIDATION_ERROR"
    assert found["fields"] == [{"field": "name", "message": "May not be null"}]


async def test_bad_documents_and_values_are_validation_errors_not_internal(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    cases = [
        (READ, {"id": "not-a-uuid"}),
        (READ, {"id": 12}),
        (LIST, {"limit": "ten", "offset": 0}),
        (CREATE, {"input": {"name": 5}}),
        (CREATE, {"input": {"name": "x" * 1_000_000}}),
        (CREATE, {"input": {"name": "x", "provenSteps": "not a list"}}),
        (CREATE, {"input": {"name": "x", "dataRows": [{"col": {"nested": 1}}]}}),
        (CREATE, {"input": {"name": "x", "unknownField": 1}}),
        ("{ testCase(id: ", {}),
        ("{ nosuchfield }", {}),
    ]
    for query, variables in cases:
        body = await gql(client, editor, query, **variables)
        assert {e["extensions"]["code"] for e in body["errors"]} == {"VALIDATION_ERROR"}, (
            query,
            body,
        )


async def test_paging_limits(client: httpx.AsyncClient, editor: Caller) -> None:
    for limit, offset in [(0, 0), (101, 0), (20, -1)]:
        found = error(await gql(client, editor, LIST, limit=limit, offset=offset))
        assert found["code"] == "VALIDATION_ERROR"
        assert found["fields"][0]["field"] in ("limit", "offset")


async def test_another_projects_test_case_is_not_found(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    created = await create(client, editor)
    stranger = await make_caller(role=Role.ADMIN)

    for query, variables in [
        (READ, {"id": created["id"]}),
        (UPDATE, {"id": created["id"], "input": {"name": "mine"}}),
        (DELETE, {"id": created["id"]}),
    ]:
        found = error(await gql(client, stranger, query, **variables))
        assert found == {"message": f"Test case not found: {created['id']}", "code": "NOT_FOUND"}
    listed = data(await gql(client, stranger, LIST, limit=20, offset=0))["testCases"]
    assert listed["total"] == 0


async def test_unknown_script_reference_is_not_found(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    missing = str(uuid.uuid4())

    found = error(await gql(client, editor, CREATE, input={"name": "x", "preScriptIds": [missing]}))

    assert found == {"message": f"Test script not found: {missing}", "code": "NOT_FOUND"}


async def test_a_viewer_reads_but_cannot_write(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    created = await create(client, editor)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert data(await gql(client, viewer, READ, id=created["id"]))["testCase"]["name"] == "Login"
    for query, variables in [
        (CREATE, {"input": {"name": "x"}}),
        (UPDATE, {"id": created["id"], "input": {"name": "y"}}),
        (DELETE, {"id": created["id"]}),
    ]:
        assert error(await gql(client, viewer, query, **variables))["code"] == "FORBIDDEN"


async def test_json_values_come_back_exactly_as_sent(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    # 2**70 is beyond what orjson encodes (the responses' encoder): it must not be lost.
    rows = [{"big": 2**70, "negative": -(2**70), "ratio": 0.5, "text": "é", "none": None}]
    created = data(
        await gql(client, editor, CREATE, input={"name": "Big numbers", "dataRows": rows})
    )["createTestCase"]

    read = data(
        await gql(
            client,
            editor,
            "query Case($id: UUID!) { testCase(id: $id) { dataRows } }",
            id=created["id"],
        )
    )

    assert read["testCase"]["dataRows"] == rows


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient, editor: Caller) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ me { id } }"',
        headers={**editor.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "JSON" in response.text
