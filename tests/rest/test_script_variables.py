"""REST routes of script variables: admins only, values never answered."""

from __future__ import annotations

import httpx
import pytest

from models.enums import Role
from tests.fixtures.http import Caller, MakeCaller

VARIABLES = "/api/v1/script-variables"
SECRET = "s3cr3t-value-of-the-system-under-test"


async def test_an_admin_puts_lists_and_deletes_and_no_answer_holds_the_value(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    put = await client.put(
        f"{VARIABLES}/API_PASSWORD", headers=admin.headers, json={"value": SECRET}
    )
    replaced = await client.put(
        f"{VARIABLES}/API_PASSWORD", headers=admin.headers, json={"value": SECRET + "2"}
    )
    listed = await client.get(VARIABLES, headers=admin.headers)
    deleted = await client.delete(f"{VARIABLES}/API_PASSWORD", headers=admin.headers)
    again = await client.delete(f"{VARIABLES}/API_PASSWORD", headers=admin.headers)
    empty = await client.get(VARIABLES, headers=admin.headers)

    assert (put.status_code, replaced.status_code, listed.status_code) == (200, 200, 200)
    assert set(put.json()) == {"name", "created_at", "updated_at"}
    assert put.json()["name"] == "API_PASSWORD"
    assert replaced.json()["created_at"] == put.json()["created_at"]
    body = listed.json()
    assert ([item["name"] for item in body["items"]], body["total"]) == (["API_PASSWORD"], 1)
    assert (deleted.status_code, deleted.json()["name"]) == (200, "API_PASSWORD")
    assert again.status_code == 404
    assert again.json() == {"detail": "Script variable not found: API_PASSWORD"}
    assert empty.json()["total"] == 0
    for response in (put, replaced, listed, deleted, again, empty):
        assert SECRET not in response.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
async def test_a_viewer_or_editor_gets_403(
    client: httpx.AsyncClient, admin: Caller, make_caller: MakeCaller, role: Role
) -> None:
    other = await make_caller(role=role, project=admin.project)

    listed = await client.get(VARIABLES, headers=other.headers)
    put = await client.put(f"{VARIABLES}/API_PASSWORD", headers=other.headers, json={"value": "x"})
    deleted = await client.delete(f"{VARIABLES}/API_PASSWORD", headers=other.headers)

    assert [r.status_code for r in (listed, put, deleted)] == [403, 403, 403]
    assert "Only an admin token manages script variables" in put.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{VARIABLES}/API-KEY", {"value": "x"}, "name"),
        (f"{VARIABLES}/TESTRUN_SECRET_KEY", {"value": "x"}, "name"),
        (f"{VARIABLES}/OK", {}, "value"),
        (f"{VARIABLES}/OK", {"value": 3}, "value"),
        (f"{VARIABLES}/OK", {"value": "x", "extra": 1}, "extra"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    client: httpx.AsyncClient, admin: Caller, path: str, body: dict[str, object], field: str
) -> None:
    response = await client.put(path, headers=admin.headers, json=body)

    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_the_routes_are_documented(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    item = document["paths"]["/api/v1/script-variables/{variable_name}"]
    assert set(item) == {"put", "delete"}
    (parameter,) = item["put"]["parameters"]
    assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    assert "get" in document["paths"]["/api/v1/script-variables"]
