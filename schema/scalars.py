"""The scalars our types add to GraphQL's own: 64-bit integers and JSON values."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.scalars import JSON

__all__ = ["JSON", "LONG_SCALAR", "Long"]

# GraphQL's Int is 32-bit: a duration over 24.8 days in ms would not fit. BIGINT columns
# (durations, byte sizes) use this instead; it is a JSON number like Int.
Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit integer, such as a duration in milliseconds or a size in bytes.",
    serialize=int,
    parse_value=int,
)
