"""Answers for DataLoaders: rows fetched for many keys at once, put back in the keys' order."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, ScalarResult, Select, any_, bindparam, inspect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row as ColumnRow
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.base import Base

Key = TypeVar("Key", bound=Hashable)
Row = TypeVar("Row")


_KEYS = "keys"


def keyed(column: InstrumentedAttribute[Any] | Column[Any]) -> ColumnElement[bool]:
    """`column = ANY(:keys)`, the condition of a statement run by `batch_rows`.

    One array parameter, where `IN` would render one per key, so that one prepared
    statement serves any number of keys.
    """
    return column == any_(bindparam(_KEYS, type_=ARRAY(column.type)))


async def batch_rows(
    session: AsyncSession, statement: Select[Row], keys: Sequence[Any]
) -> ScalarResult[Row]:
    """The rows `statement` (conditioned by `keyed`) finds for `keys`.

    Loaders build their statement once, at import: building one costs about what running
    it does (a third of a millisecond), and the read path runs several per request.
    """
    return await session.scalars(statement, {_KEYS: list(keys)})


# Column names, in a fixed order: the same set of columns is the same statement.
Columns = tuple[str, ...]

# Statements of `batch_columns` by the statement they narrow and their columns; the
# statement is kept beside its narrowed form so that a reused id never matches.
_NARROWED: dict[tuple[int, Columns], tuple[Select[Any], Select[Any]]] = {}


def table_column(model: type[Base], name: str) -> Column[Any]:
    """The table column of `model`'s attribute `name`, for statements of plain rows.

    A statement of table columns runs without the ORM: `Session.execute` hands it to the
    connection as it is, skipping the ORM's compile state and row loading, a third of
    SQLAlchemy's time on a read of a hundred rows.
    """
    return inspect(model).columns[name]


def column_names(model: type[Base]) -> frozenset[str]:
    """The names of `model`'s column attributes, the names `batch_columns` accepts."""
    return frozenset(attribute.key for attribute in inspect(model).column_attrs)


def _narrowed(statement: Select[Any], model: type[Base], columns: Columns) -> Select[Any]:
    entry = _NARROWED.get((id(statement), columns))
    if entry is None or entry[0] is not statement:
        narrowed = statement.with_only_columns(*(getattr(model, name) for name in columns))
        entry = _NARROWED[(id(statement), columns)] = (statement, narrowed)
    return entry[1]


async def batch_columns(
    session: AsyncSession,
    statement: Select[Any],
    keys: Sequence[Any],
    *,
    model: type[Base],
    columns: Columns,
) -> Sequence[ColumnRow[Any]]:
    """What `batch_rows` finds with `statement` (a select of `model`), as rows of `columns`.

    For reads that answer a query: the columns it asks for, and no ORM objects built.
    Each row holds the named columns in the order given (`row.name` reads one).
    """
    return await keyed_rows(session, _narrowed(statement, model, columns), keys)


async def keyed_rows(
    session: AsyncSession, statement: Select[Any], keys: Sequence[Any]
) -> Sequence[ColumnRow[Any]]:
    """The rows of `statement` (conditioned by `keyed`) for `keys`, as column tuples."""
    result = await session.execute(statement, {_KEYS: list(keys)})
    rows: Sequence[ColumnRow[Any]] = result.all()
    return rows


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
