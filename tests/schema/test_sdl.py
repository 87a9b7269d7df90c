"""The committed SDL is what the code serves."""

from __future__ import annotations

from pathlib import Path

import schema
from schema.export import sdl


def test_committed_schema_graphql_matches_the_code() -> None:
    committed = (Path(schema.__file__).parent / "schema.graphql").read_text()

    assert committed == sdl(), "schema/schema.graphql is stale: run `make schema`"
