"""Pieces every GraphQL module uses: input conversion and the JSON scalar."""

from __future__ import annotations

import dataclasses
from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON

__all__ = ["JSON", "LONG_SCALAR", "Long", "input_data"]

# GraphQL's Int is 32-bit: a duration over 24.8 days in ms would not fit. BIGINT columns
# (durations, byte sizes) use this instead; it is a JSON number like Int.
Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit integer, such as a duration in milliseconds or a size in bytes.",
    serialize=int,
    parse_value=int,
)


def input_data(value: object) -> dict[str, Any]:
    """A Strawberry input as a dict of the fields the caller gave (explicit nulls kept).

    Nested inputs become dicts too, so the resolvers' pydantic models see plain data.
    """
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"not a Strawberry input: {value!r}")
    data: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        field_value = getattr(value, item.name)
        if field_value is strawberry.UNSET:
            continue
        data[item.name] = _plain(field_value)
    return data


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return input_data(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
