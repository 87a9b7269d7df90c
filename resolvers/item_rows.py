"""A run's items with their test case and latest result (and the run), in one statement."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, bindparam, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.results import TestRunResult
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase
from resolvers.batches import Columns, group_rows, keyed, keyed_rows, table_column
from resolvers.errors import NotFound
from resolvers.tokens import Principal

_RESULTS = table_of(TestRunResult)
# An item's latest result: last attempt, last submitted, last data row. The order of
# `load_latest_results_by_item` too.
LATEST_RESULT_ORDER = (
    _RESULTS.c.retry_attempt.desc(),
    _RESULTS.c.created_at.desc(),
    _RESULTS.c.iteration_number.desc().nulls_last(),
    _RESULTS.c.id,
)


class ItemColumns(NamedTuple):
    """The columns to read of items, of their test cases and of their latest results.

    No columns leave that table out; those given include its `id`, so that an item
    without a latest result reads as one whose result id is null.
    """

    item: Columns
    test_case: Columns = ()
    latest_result: Columns = ()


class ItemRow(NamedTuple):
    """One item's values in `ItemColumns.item` order, and those of its test case and result."""

    item: tuple[Any, ...]
    test_case: tuple[Any, ...] | None
    latest_result: tuple[Any, ...] | None


# The statements below are of table columns, not ORM attributes: they build no objects,
# and so run without the ORM's row loading (see `table_column`).
_ITEM_RUN_ID = table_column(TestRunItem, "test_run_id")
_ITEM_ORDER = table_column(TestRunItem, "execution_order")


def _with_items(statement: Select[Any], columns: ItemColumns) -> Select[Any]:
    """`statement` (which reads items) with their columns, and their neighbours' joined."""
    selected: list[Any] = [table_column(TestRunItem, name) for name in columns.item]
    if columns.test_case:
        selected += [table_column(TestCase, name) for name in columns.test_case]
        statement = statement.outerjoin(
            table_of(TestCase),
            table_column(TestCase, "id") == table_column(TestRunItem, "test_case_id"),
        )
    if columns.latest_result:
        latest = (
            select(*(table_column(TestRunResult, name) for name in columns.latest_result))
            .where(_RESULTS.c.test_run_item_id == table_column(TestRunItem, "id"))
            .order_by(*LATEST_RESULT_ORDER)
            .limit(1)
            .lateral("latest_result")
        )
        selected += [latest.c[name] for name in columns.latest_result]
        statement = statement.outerjoin(latest, true())
    return statement.add_columns(*selected)


@functools.cache
def _statement(columns: ItemColumns) -> Select[Any]:
    """Items of the runs asked for (after their run's id), with what `columns` asks."""
    return (
        _with_items(select(_ITEM_RUN_ID), columns)
        .where(keyed(_ITEM_RUN_ID))
        .order_by(_ITEM_RUN_ID, _ITEM_ORDER)
    )


@functools.cache
def _run_statement(run_columns: Columns, columns: ItemColumns) -> Select[Any]:
    """One run of a project and its items, the run's columns on the first row only.

    The first row is the first item's (or the run's alone, when it has none); on the
    others the run's columns are null: repeated on each of 100 items, they were a third
    of the values PostgreSQL sent and the driver decoded.
    """
    run_id = table_column(TestRun, "id")
    order = (_ITEM_ORDER, table_column(TestRunItem, "id"))
    first = func.row_number().over(order_by=order) == 1
    run = select(
        *(case((first, table_column(TestRun, name))).label(name) for name in run_columns)
    ).select_from(table_of(TestRun).outerjoin(table_of(TestRunItem), run_id == _ITEM_RUN_ID))
    return (
        _with_items(run, columns)
        .where(
            table_column(TestRun, "project_id") == bindparam("project_id"),
            run_id == bindparam("run_id"),
        )
        .order_by(*order)
    )


def _split(rows: Sequence[Row[Any]], columns: ItemColumns, *, start: int) -> list[ItemRow]:
    """Each row as its tables' values, the item's from `start`, then each neighbour's.

    A row whose item id is null is a run without items (an outer join without a match).
    """
    case_start = start + len(columns.item)
    result_start = case_start + len(columns.test_case)
    item_id = start + columns.item.index("id")
    # An outer join without a match reads as a null id (and every other column null).
    case_id = case_start + columns.test_case.index("id") if columns.test_case else None
    result_id = result_start + columns.latest_result.index("id") if columns.latest_result else None
    return [
        ItemRow(
            item=tuple(row[start:case_start]),
            test_case=None
            if case_id is None or row[case_id] is None
            else tuple(row[case_start:result_start]),
            latest_result=None
            if result_id is None or row[result_id] is None
            else tuple(row[result_start:]),
        )
        for row in rows
        if row[item_id] is not None
    ]


async def read_run_with_item_rows(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    run_columns: Columns,
    columns: ItemColumns,
) -> tuple[tuple[Any, ...], list[ItemRow]]:
    """The caller's project's run (of `run_columns`) and its items, in one SELECT.

    The items as `load_item_rows_by_run` answers them; NotFound for a missing run or
    another project's.
    """
    rows = (
        await session.execute(
            _run_statement(run_columns, columns),
            {"project_id": principal.project_id, "run_id": run_id},
        )
    ).all()
    if not rows:
        raise NotFound.of("Test run", run_id)
    return tuple(rows[0][: len(run_columns)]), _split(rows, columns, start=len(run_columns))


async def load_item_rows_by_run(
    session: AsyncSession, run_ids: Sequence[uuid.UUID], *, columns: ItemColumns
) -> list[list[ItemRow]]:
    """Each run's items in execution order, each with its test case and latest result.

    One SELECT for all the runs, whatever their number of items.
    """
    rows = await keyed_rows(session, _statement(columns), run_ids)
    grouped = group_rows(run_ids, rows, lambda row: row[0])
    return [_split(group, columns, start=1) for group in grouped]
