"""Test scripts over GraphQL: create, read, list, update, hard delete, and every refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ScriptResult, TestCase
from models.enums import Role
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

FIELDS = """
id name description scriptType language code isCritical timeoutSeconds attachedToStep
projectId createdAt updatedAt
"""
CREATE = f"""
mutation Create($input: TestScriptInput!) {{ createTestScript(input: $input) {{ {FIELDS} }} }}
"""
UPDATE = f"""
mutation Update($id: UUID!, $input: TestScriptInput!) {{
  updateTestScript(id: $id, input: $input) {{ {FIELDS} }}
}}
"""
READ = f"query Read($id: UUID!) {{ testScript(id: $id) {{ {FIELDS} }} }}"
DELETE = "mutation Delete($id: UUID!) { deleteTestScript(id: $id) { id name } }"
LIST = """
query List(
  $scriptType: ScriptType, $language: ScriptLanguage, $limit: Int! = 20, $offset: Int! = 0
) {
  testScripts(scriptType: $scriptType, language: $language, limit: $limit, offset: $offset) {
    total limit offset items { name }
  }
}
"""
BASE = {
    "name": "Seed users",
    "scriptType": "PRE_EXECUTION",
    "language": "PYTHON",
    "code": "print('seeding')",
}


async def create(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = data(await gql(client, caller, CREATE, input=BASE | fields))[
        "createTestScript"
    ]
    return created


async def test_create_then_read_a_script_with_the_defaults(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor)

    assert {key: created[key] for key in BASE} == BASE
    assert (created["isCritical"], created["timeoutSeconds"]) == (False, 60)
    assert (created["description"], created["attachedToStep"]) == (None, None)
    assert created["projectId"] == str(editor.project.id)
    read = data(await gql(client, editor, READ, id=created["id"]))["testScript"]
    assert read == created


async def test_an_on_demand_script_is_attached_to_a_step(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(
        client,
        editor,
        scriptType="ON_DEMAND",
        language="JAVASCRIPT",
        attachedToStep=3,
        isCritical=True,
        timeoutSeconds=3600,
        code="x" * 1_000_000,
    )

    assert (created["scriptType"], created["attachedToStep"]) == ("ON_DEMAND", 3)
    assert (created["isCritical"], created["timeoutSeconds"]) == (True, 3600)
    assert len(created["code"]) == 1_000_000


async def test_list_filters_by_type_and_language_and_pages(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    for name, script_type, language in [
        ("c", "POST_EXECUTION", "SHELL"),
        ("a", "PRE_EXECUTION", "PYTHON"),
        ("b", "PRE_EXECUTION", "SHELL"),
    ]:
        await create(client, editor, name=name, scriptType=script_type, language=language)
    stranger = await make_caller()
    await create(client, stranger, name="theirs")

    async def names(**variables: Any) -> tuple[list[str], int]:
        page = data(await gql(client, editor, LIST, **variables))["testScripts"]
        return [item["name"] for item in page["items"]], page["total"]

    assert await names() == (["a", "b", "c"], 3)
    assert await names(scriptType="PRE_EXECUTION") == (["a", "b"], 2)
    assert await names(language="SHELL") == (["b", "c"], 2)
    assert await names(scriptType="PRE_EXECUTION", language="SHELL") == (["b"], 1)
    assert await names(limit=1, offset=2) == (["c"], 3)


async def test_update_changes_only_what_is_given(client: httpx.AsyncClient, editor: Caller) -> None:
    created = await create(client, editor, description="seeds", isCritical=True)

    body = await gql(
        client, editor, UPDATE, id=created["id"], input={"code": "exit 0", "language": "SHELL"}
    )

    updated = data(body)["updateTestScript"]
    assert (updated["code"], updated["language"]) == ("exit 0", "SHELL")
    assert (updated["name"], updated["description"], updated["isCritical"]) == (
        "Seed users",
        "seeds",
        True,
    )


async def test_a_type_other_than_on_demand_drops_the_step(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, scriptType="ON_DEMAND", attachedToStep=2)

    moved = data(await gql(client, editor, UPDATE, id=created["id"], input={"attachedToStep": 5}))
    retyped = data(
        await gql(client, editor, UPDATE, id=created["id"], input={"scriptType": "POST_EXECUTION"})
    )

    assert moved["updateTestScript"]["attachedToStep"] == 5
    assert retyped["updateTestScript"]["attachedToStep"] is None
    refused = error(
        await gql(client, editor, UPDATE, id=created["id"], input={"attachedToStep": 1})
    )
    assert refused["fields"] == [
        {"field": "attachedToStep", "message": "Only for on_demand scripts"}
    ]


async def test_delete_is_hard_and_leaves_nothing_dangling(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    deleted = await create(client, editor, name="gone")
    kept = await create(client, editor, name="kept")
    gone_id, kept_id = uuid.UUID(deleted["id"]), uuid.UUID(kept["id"])
    listing = await make_test_case(
        session,
        editor.project,
        pre_script_ids=[gone_id, kept_id],
        post_script_ids=[gone_id],
        on_demand_script_ids=[kept_id, gone_id],
    )
    soft_deleted = await make_test_case(
        session, editor.project, pre_script_ids=[gone_id], deleted_at=datetime.now(UTC)
    )
    untouched = await make_test_case(session, editor.project, pre_script_ids=[kept_id])
    run = await make_run(session, editor.project, editor.user)
    result = await make_result(session, await make_item(session, run, listing))
    script_result = ScriptResult(
        test_run_result_id=result.id,
        test_script_id=gone_id,
        script_name="gone",
        script_type="pre_execution",
        status="passed",
    )
    session.add(script_result)
    await session.flush()

    body = await gql(client, editor, DELETE, id=deleted["id"])

    assert data(body)["deleteTestScript"] == {"id": deleted["id"], "name": "gone"}
    assert error(await gql(client, editor, READ, id=deleted["id"]))["code"] == "NOT_FOUND"
    rows = {
        row.id: row
        for row in await session.scalars(
            select(TestCase)
            .where(TestCase.id.in_([listing.id, soft_deleted.id, untouched.id]))
            .execution_options(populate_existing=True)
        )
    }
    assert rows[listing.id].pre_script_ids == [kept_id]
    assert rows[listing.id].post_script_ids == []
    assert rows[listing.id].on_demand_script_ids == [kept_id]
    assert rows[soft_deleted.id].pre_script_ids == []
    assert rows[untouched.id].pre_script_ids == [kept_id]
    await session.refresh(script_result)
    assert (script_result.test_script_id, script_result.script_name) == (None, "gone")


VALIDATION_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"name": " "}, ["name"]),
    ({"name": "x" * 256}, ["name"]),
    ({"name": None}, ["name"]),
    ({"code": ""}, ["code"]),
    ({"code": "é" * 500_001}, ["code"]),
    ({"code": None}, ["code"]),
    ({"scriptType": None}, ["scriptType"]),
    ({"language": None}, ["language"]),
    ({"timeoutSeconds": 0}, ["timeoutSeconds"]),
    ({"timeoutSeconds": 3601}, ["timeoutSeconds"]),
    ({"isCritical": None}, ["isCritical"]),
    ({"attachedToStep": 2}, ["attachedToStep"]),
    ({"scriptType": "ON_DEMAND", "attachedToStep": 0}, ["attachedToStep"]),
]


@pytest.mark.parametrize(("fields", "named"), VALIDATION_CASES)
async def test_every_rule_names_its_field(
    client: httpx.AsyncClient, editor: Caller, fields: dict[str, Any], named: list[str]
) -> None:
    found = error(await gql(client, editor, CREATE, input=BASE | fields))

    assert found["code"] == "VALIDATION_ERROR", found
    assert sorted(item["field"] for item in found["fields"]) == named, found


async def test_required_fields_are_named_on_create(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    found = error(await gql(client, editor, CREATE, input={}))

    assert sorted(item["field"] for item in found["fields"]) == [
        "code",
        "language",
        "name",
        "scriptType",
    ]


async def test_malformed_input_is_a_validation_error_never_internal(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor)
    cases: list[tuple[str, dict[str, Any]]] = [
        (READ, {"id": "not-a-uuid"}),
        (READ, {"id": 12}),
        (LIST, {"limit": 101}),
        (LIST, {"offset": -1}),
        (LIST, {"scriptType": "SOMETIMES"}),
        (CREATE, {"input": BASE | {"language": "COBOL"}}),
        (CREATE, {"input": BASE | {"timeoutSeconds": "soon"}}),
        (CREATE, {"input": BASE | {"timeoutSeconds": 2**40}}),
        (CREATE, {"input": BASE | {"code": ["print()"]}}),
        (CREATE, {"input": BASE | {"code": "x" * 2_000_000}}),
        (CREATE, {"input": BASE | {"unknown": True}}),
        (UPDATE, {"id": created["id"], "input": {"attachedToStep": 10**9}}),
        ("{ testScript(id: ", {}),
    ]
    for query, variables in cases:
        body = await gql(client, editor, query, **variables)
        assert "errors" in body, (query, variables, body)
        codes = {item["extensions"]["code"] for item in body["errors"]}
        assert codes == {"VALIDATION_ERROR"}, (query, variables, body)


async def test_another_projects_script_is_not_found(
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
        assert found == {"message": f"Test script not found: {created['id']}", "code": "NOT_FOUND"}
    assert data(await gql(client, stranger, LIST))["testScripts"]["total"] == 0


async def test_a_viewer_reads_but_cannot_write(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    created = await create(client, editor)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert data(await gql(client, viewer, READ, id=created["id"]))["testScript"] == created
    for query, variables in [
        (CREATE, {"input": BASE}),
        (UPDATE, {"id": created["id"], "input": {"name": "y"}}),
        (DELETE, {"id": created["id"]}),
    ]:
        assert error(await gql(client, viewer, query, **variables))["code"] == "FORBIDDEN"
