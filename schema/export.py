"""Prints the GraphQL SDL of the schema: `python -m schema.export > schema/schema.graphql`."""

from __future__ import annotations

import sys

from schema import schema


def sdl() -> str:
    """The schema's SDL as committed in schema/schema.graphql."""
    return schema.as_str() + "\n"


if __name__ == "__main__":
    sys.stdout.write(sdl())
