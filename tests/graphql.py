"""Calling the api's GraphQL endpoint in tests, and reading its errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.http import Caller


async def gql(
    client: httpx.AsyncClient, caller: Caller, query: str, **variables: Any
) -> dict[str, Any]:
    """POST the operation as `caller`; the whole response body."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
    )
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The data of a response that must have no error."""
    assert not body.get("errors"), body.get("errors")
    result: dict[str, Any] = body["data"]
    return result


def error(body: dict[str, Any]) -> dict[str, Any]:
    """The only error of a response: {message, code, fields?}."""
    errors = body.get("errors")
    assert errors and len(errors) == 1, body
    found = errors[0]
    extensions = found.get("extensions") or {}
    return {"message": found["message"], **extensions}
