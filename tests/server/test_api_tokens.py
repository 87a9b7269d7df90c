"""Admins create, list and revoke tokens through GraphQL and REST; nobody else may."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from models.enums import Role
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

CREATE = """
mutation Create($role: Role!, $name: String!, $expiresAt: DateTime) {
  createApiToken(role: $role, name: $name, expiresAt: $expiresAt) {
    secret token { id name prefix role state userId expiresAt revokedAt }
  }
}
"""
LIST = "{ apiTokens { total items { id name prefix role state revokedAt } } }"
REVOKE = "mutation Revoke($id: UUID!) { revokeApiToken(id: $id) { id state revokedAt } }"
ME = {"query": "{ me { role } }"}


@pytest.fixture
async def admin(make_caller: MakeCaller) -> Caller:
    return await make_caller(role=Role.ADMIN)


async def test_an_admin_creates_a_token_whose_secret_is_shown_once_and_works(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = data(await gql(client, admin, CREATE, role="VIEWER", name="ci"))["createApiToken"]
    listed = data(await gql(client, admin, LIST))["apiTokens"]
    me = await client.post(
        "/graphql", json=ME, headers={"Authorization": f"Bearer {created['secret']}"}
    )

    token = created["token"]
    assert created["secret"].startswith(token["prefix"])
    assert token["role"] == "VIEWER" and token["name"] == "ci" and token["state"] == "active"
    assert token["userId"] == str(admin.user.id)
    assert me.json()["data"]["me"]["role"] == "VIEWER"
    assert listed["total"] == 2  # the admin's own and the new one
    assert token["id"] in [item["id"] for item in listed["items"]]
    assert created["secret"] not in str(listed)


async def test_a_revoked_token_is_refused_on_its_next_request(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = data(await gql(client, admin, CREATE, role="EDITOR", name="to revoke"))
    secret = created["createApiToken"]["secret"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.post("/graphql", json=ME, headers=headers)).status_code == 200

    revoked = data(await gql(client, admin, REVOKE, id=created["createApiToken"]["token"]["id"]))
    after = await client.post("/graphql", json=ME, headers=headers)
    rest_after = await client.get("/api/v1/test-runs", headers=headers)
    again = error(await gql(client, admin, REVOKE, id=created["createApiToken"]["token"]["id"]))

    assert revoked["revokeApiToken"]["state"] == "revoked"
    assert revoked["revokeApiToken"]["revokedAt"] is not None
    assert after.status_code == 401 and after.json() == {"detail": "Bearer token has been revoked"}
    assert rest_after.status_code == 401
    assert again["code"] == "INVALID_STATE" and "revoked" in again["message"]


async def test_an_expired_token_is_listed_as_expired_and_refused(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = data(await gql(client, admin, CREATE, role="VIEWER", name="short", expiresAt=soon))
    secret = created["createApiToken"]["secret"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.post("/graphql", json=ME, headers=headers)).status_code == 200
    # Wait for the expiry the test set, not for a timing of the code under test.
    expires = datetime.fromisoformat(created["createApiToken"]["token"]["expiresAt"])
    while datetime.now(UTC) <= expires:
        await asyncio.sleep(0.05)

    after = await client.post("/graphql", json=ME, headers=headers)
    listed = data(await gql(client, admin, LIST))["apiTokens"]["items"]

    assert after.status_code == 401 and after.json() == {"detail": "Bearer token has expired"}
    assert {item["name"]: item["state"] for item in listed}["short"] == "expired"


async def test_bad_token_requests_name_the_field(client: httpx.AsyncClient, admin: Caller) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    in_the_past = error(await gql(client, admin, CREATE, role="VIEWER", name="x", expiresAt=past))
    blank_name = error(await gql(client, admin, CREATE, role="VIEWER", name="  "))
    rest = await client.post(
        "/api/v1/api-tokens", json={"role": "owner", "name": ""}, headers=admin.headers
    )

    assert in_the_past["code"] == "VALIDATION_ERROR"
    assert in_the_past["fields"][0]["field"] == "expiresAt"
    assert blank_name["fields"][0]["field"] == "name"
    assert rest.status_code == 400
    assert {item["field"] for item in rest.json()["errors"]} == {"role", "name"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
async def test_only_admins_manage_tokens(
    client: httpx.AsyncClient, make_caller: MakeCaller, admin: Caller, role: Role
) -> None:
    caller = await make_caller(role=role, project=admin.project)
    own = data(await gql(client, admin, LIST))["apiTokens"]["items"][0]["id"]

    answers = [
        error(await gql(client, caller, CREATE, role="ADMIN", name="escalate")),
        error(await gql(client, caller, LIST)),
        error(await gql(client, caller, REVOKE, id=own)),
    ]
    rest = [
        await client.post(
            "/api/v1/api-tokens", json={"role": "admin", "name": "x"}, headers=caller.headers
        ),
        await client.get("/api/v1/api-tokens", headers=caller.headers),
        await client.post(f"/api/v1/api-tokens/{own}/revoke", headers=caller.headers),
    ]

    assert [answer["code"] for answer in answers] == ["FORBIDDEN"] * 3
    assert [response.status_code for response in rest] == [403] * 3
    assert data(await gql(client, admin, LIST))["apiTokens"]["items"][0]["state"] == "active"


async def test_another_projects_token_is_not_found(
    client: httpx.AsyncClient, make_caller: MakeCaller, admin: Caller
) -> None:
    other = await make_caller(role=Role.ADMIN)
    theirs = data(await gql(client, other, LIST))["apiTokens"]["items"][0]["id"]

    answer = error(await gql(client, admin, REVOKE, id=theirs))
    rest = await client.post(f"/api/v1/api-tokens/{theirs}/revoke", headers=admin.headers)
    mine = data(await gql(client, admin, LIST))["apiTokens"]

    assert answer["code"] == "NOT_FOUND" and theirs in answer["message"]
    assert rest.status_code == 404 and rest.json() == {"detail": f"API token not found: {theirs}"}
    assert theirs not in [item["id"] for item in mine["items"]]
    assert data(await gql(client, other, LIST))["apiTokens"]["items"][0]["state"] == "active"


async def test_rest_creates_lists_and_revokes(client: httpx.AsyncClient, admin: Caller) -> None:
    created = await client.post(
        "/api/v1/api-tokens", json={"role": "editor", "name": "rest"}, headers=admin.headers
    )
    body = created.json()
    listed = await client.get("/api/v1/api-tokens?limit=1", headers=admin.headers)
    revoked = await client.post(f"/api/v1/api-tokens/{body['id']}/revoke", headers=admin.headers)
    refused = await client.get(
        "/api/v1/test-runs", headers={"Authorization": f"Bearer {body['secret']}"}
    )

    assert created.status_code == 201
    assert body["role"] == "editor" and body["state"] == "active" and body["secret"]
    assert listed.status_code == 200
    assert listed.json()["total"] == 2 and len(listed.json()["items"]) == 1
    assert "secret" not in listed.json()["items"][0]
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert refused.status_code == 401
