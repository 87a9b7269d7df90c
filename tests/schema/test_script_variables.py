"""Script variables over GraphQL: admins set, list and delete them; values never come back."""

from __future__ import annotations

import httpx
import pytest

from models.enums import Role
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

SET = """
mutation ($name: String!, $value: String!) {
  setScriptVariable(name: $name, value: $value) { name createdAt updatedAt }
}
"""
DELETE = "mutation ($name: String!) { deleteScriptVariable(name: $name) { name } }"
LIST = """
query ($limit: Int! = 20, $offset: Int! = 0) {
  scriptVariables(limit: $limit, offset: $offset) { items { name createdAt updatedAt } total }
}
"""
SECRET = "s3cr3t-value-of-the-system-under-test"


async def test_an_admin_sets_replaces_lists_and_deletes_without_seeing_values(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    first = data(await gql(client, admin, SET, name="API_PASSWORD", value=SECRET))
    again = data(await gql(client, admin, SET, name="API_PASSWORD", value=SECRET + "2"))
    data(await gql(client, admin, SET, name="API_USER", value="tester"))
    listed = data(await gql(client, admin, LIST))["scriptVariables"]
    page = data(await gql(client, admin, LIST, limit=1, offset=1))["scriptVariables"]
    deleted = data(await gql(client, admin, DELETE, name="API_USER"))
    after = data(await gql(client, admin, LIST))["scriptVariables"]

    created = first["setScriptVariable"]
    replaced = again["setScriptVariable"]
    assert created["name"] == "API_PASSWORD"
    assert replaced["createdAt"] == created["createdAt"]
    assert replaced["updatedAt"] >= created["updatedAt"]
    assert [item["name"] for item in listed["items"]] == ["API_PASSWORD", "API_USER"]
    assert listed["total"] == 2
    assert ([item["name"] for item in page["items"]], page["total"]) == (["API_USER"], 2)
    assert deleted == {"deleteScriptVariable": {"name": "API_USER"}}
    assert [item["name"] for item in after["items"]] == ["API_PASSWORD"]


async def test_the_schema_has_no_field_that_could_return_a_value(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    query = 'mutation { setScriptVariable(name: "A", value: "b") { name value } }'

    found = error(await gql(client, admin, query))

    assert "Cannot query field 'value'" in found["message"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
async def test_only_an_admin_manages_them(
    client: httpx.AsyncClient, admin: Caller, make_caller: MakeCaller, role: Role
) -> None:
    data(await gql(client, admin, SET, name="API_PASSWORD", value=SECRET))
    other = await make_caller(role=role, project=admin.project)

    for query, variables in [
        (LIST, {}),
        (SET, {"name": "API_PASSWORD", "value": "mine"}),
        (DELETE, {"name": "API_PASSWORD"}),
    ]:
        found = error(await gql(client, other, query, **variables))
        assert found["code"] == "FORBIDDEN", query
        assert role.value in found["message"]
    listed = data(await gql(client, admin, LIST))["scriptVariables"]
    assert [item["name"] for item in listed["items"]] == ["API_PASSWORD"]


async def test_another_projects_variables_are_out_of_reach(
    client: httpx.AsyncClient, admin: Caller, make_caller: MakeCaller
) -> None:
    data(await gql(client, admin, SET, name="API_PASSWORD", value=SECRET))
    stranger = await make_caller(role=Role.ADMIN)

    assert data(await gql(client, stranger, LIST))["scriptVariables"]["total"] == 0
    found = error(await gql(client, stranger, DELETE, name="API_PASSWORD"))
    assert found == {"message": "Script variable not found: API_PASSWORD", "code": "NOT_FOUND"}


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("", "x", "name"),
        ("1ST", "x", "name"),
        ("API-KEY", "x", "name"),
        ("PATH", "x", "name"),
        ("TESTRUN_RUN_ID", "x", "name"),
        ("testrun_secret", "x", "name"),
        ("N" * 256, "x", "name"),
        ("OK", "x" * 32_769, "value"),
        ("OK", "nul\x00byte", "value"),
    ],
)
async def test_a_bad_name_or_value_is_a_validation_error_naming_it(
    client: httpx.AsyncClient, admin: Caller, name: str, value: str, field: str
) -> None:
    found = error(await gql(client, admin, SET, name=name, value=value))

    assert found["code"] == "VALIDATION_ERROR"
    assert [item["field"] for item in found["fields"]] == [field]
