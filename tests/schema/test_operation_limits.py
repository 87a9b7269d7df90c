"""Depth, alias and token limits refuse an operation before it runs, every time it is sent.

Parsing and validation are cached per document, so each case is sent twice: the second,
answered from the caches, must be refused as the first was.
"""

from __future__ import annotations

import httpx
import pytest

from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from tests.fixtures.http import Caller
from tests.graphql import data, gql


def too_deep() -> str:
    # No cycle of real fields is that deep, so the levels below are unknown fields: the
    # depth rule reports the operation whatever else validation finds.
    inner = "id"
    for _ in range(MAX_DEPTH + 2):
        inner = f"items {{ {inner} }}"
    return f"query Deep {{ testRuns {{ {inner} }} }}"


def too_many_aliases() -> str:
    fields = " ".join(f"me{n}: me {{ role }}" for n in range(MAX_ALIASES + 1))
    return f"query Aliases {{ {fields} }}"


def too_many_tokens() -> str:
    return "query Tokens { me { " + "role " * MAX_TOKENS + "} }"


def messages(body: dict[str, object]) -> list[str]:
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    assert body.get("data") is None, body
    return [str(error["message"]) for error in errors]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (too_deep(), f"'Deep' exceeds maximum operation depth of {MAX_DEPTH}"),
        (too_many_aliases(), f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"),
        (too_many_tokens(), f"{MAX_TOKENS} tokens"),
    ],
    ids=["depth", "aliases", "tokens"],
)
async def test_an_operation_over_a_limit_is_refused_each_time(
    client: httpx.AsyncClient, editor: Caller, query: str, expected: str
) -> None:
    for _ in range(2):
        found = messages(await gql(client, editor, query))
        assert any(expected in message for message in found), found


async def test_an_operation_at_the_limits_runs(client: httpx.AsyncClient, editor: Caller) -> None:
    fields = " ".join(f"me{n}: me {{ role }}" for n in range(MAX_ALIASES))

    for _ in range(2):
        found = data(await gql(client, editor, f"{{ {fields} }}"))
        assert len(found) == MAX_ALIASES
        assert {value["role"] for value in found.values()} == {"EDITOR"}
