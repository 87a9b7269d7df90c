"""Answers for DataLoaders: rows fetched for many keys at once, put back in the keys' order."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute

Key = TypeVar("Key", bound=Hashable)
Row = TypeVar("Row")


def among(column: InstrumentedAttribute[Any], keys: Sequence[Any]) -> ColumnElement[bool]:
    """`column = ANY(:keys)`: one array parameter, where `IN` would render one per key."""
    return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))


def group_rows(
    keys: Sequence[Key], rows: Iterable[Row], key: Callable[[Row], Key]
) -> list[list[Row]]:
    """Every row under its key, one list per key in the keys' order (empty when none)."""
    groups: dict[Key, list[Row]] = {k: [] for k in keys}
    for row in rows:
        groups[key(row)].append(row)
    return [groups[k] for k in keys]


def pick_rows(
    keys: Sequence[Key], rows: Iterable[Row], key: Callable[[Row], Key]
) -> list[Row | None]:
    """The row of each key in the keys' order, None where there is none."""
    by_key = {key(row): row for row in rows}
    return [by_key.get(k) for k in keys]
