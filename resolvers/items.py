"""The test cases of a run (its items): adding, removing, ordering, and the counts they give.

Every change here first takes the run's row lock (`resolvers.run_locks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase
from resolvers.access import require_writer
from resolvers.batches import batch_rows, group_rows, keyed
from resolvers.errors import Conflict, NotFound, ValidationFailed
from resolvers.events import append_run_event
from resolvers.pages import read_page
from resolvers.run_inputs import MAX_ITEMS_PER_CALL
from resolvers.run_locks import lock_test_run, require_pending, scoped_runs
from resolvers.stats import roll_up_run
from resolvers.tokens import Principal
from resolvers.validation import Input, PageInput, parse

# Reordering names every item of a run; runs are filled 1000 at a time, so allow several calls.
MAX_ITEMS_PER_RUN = 10_000
DUPLICATE_TEST_CASE = "Test case already exists in this run"


class TestRunItemsAdd(Input):
    """Test cases to append to a run, in the order they should execute."""

    __test__ = False  # not a pytest class, despite its name
    test_case_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)]


class TestRunItemAdd(Input):
    """One test case to append to a run."""

    __test__ = False
    test_case_id: uuid.UUID


class TestRunItemMove(Input):
    """Where an item goes in its run's order: 1 is first, past the last is last."""

    __test__ = False
    execution_order: Annotated[int, Field(ge=1, le=MAX_ITEMS_PER_RUN)]


class TestRunItemsOrder(Input):
    """Every item of a run, in the new execution order."""

    __test__ = False
    item_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_ITEMS_PER_RUN)]


async def recount_test_run(session: AsyncSession, run: TestRun) -> None:
    """Set the run's test counts and pass rate from its items' statuses."""
    rows = await session.execute(
        select(TestRunItem.status, func.count())
        .where(TestRunItem.test_run_id == run.id)
        .group_by(TestRunItem.status)
    )
    rollup = roll_up_run(dict(rows.all()))
    for name, value in rollup.columns().items():
        setattr(run, name, value)
    await session.flush()


async def insert_test_run_items(
    session: AsyncSession,
    *,
    principal: Principal,
    run: TestRun,
    test_case_ids: Sequence[uuid.UUID],
) -> list[TestRunItem]:
    """Append the test cases to `run` (locked by the caller) after its last item.

    A test case given twice or already in the run is a Conflict; one that does not exist,
    is deleted, or belongs to another project is NotFound.
    """
    if len(set(test_case_ids)) != len(test_case_ids):
        raise Conflict(DUPLICATE_TEST_CASE)
    live = set(
        await session.scalars(
            select(TestCase.id).where(
                TestCase.id.in_(test_case_ids),
                TestCase.project_id == principal.project_id,
                TestCase.deleted_at.is_(None),
            )
        )
    )
    for test_case_id in test_case_ids:
        if test_case_id not in live:
            raise NotFound.of("Test case", test_case_id)
    last, already = (
        await session.execute(
            select(
                func.coalesce(func.max(TestRunItem.execution_order), 0),
                func.count().filter(TestRunItem.test_case_id.in_(test_case_ids)),
            ).where(TestRunItem.test_run_id == run.id)
        )
    ).one()
    if already:
        raise Conflict(DUPLICATE_TEST_CASE)
    items = [
        TestRunItem(test_run_id=run.id, test_case_id=test_case_id, execution_order=last + order)
        for order, test_case_id in enumerate(test_case_ids, start=1)
    ]
    session.add_all(items)
    await session.flush()
    await recount_test_run(session, run)
    return items


async def add_test_run_items(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    test_case_ids: Sequence[uuid.UUID],
) -> list[TestRunItem]:
    """Append test cases to a pending run; `execution_order` continues after the last (1-based)."""
    require_writer(principal)
    data = parse(TestRunItemsAdd, {"test_case_ids": test_case_ids})
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    require_pending(run, "add items to test run")
    items = await insert_test_run_items(
        session, principal=principal, run=run, test_case_ids=data.test_case_ids
    )
    await append_run_event(
        session,
        run_id=run.id,
        type="items.added",
        payload={"item_ids": [str(item.id) for item in items], "total_tests": run.total_tests},
    )
    return items


def _scoped_items(principal: Principal, run_id: uuid.UUID | None) -> Select[TestRunItem]:
    """Items of the caller's project's runs (of `run_id` only, when given)."""
    statement = (
        select(TestRunItem)
        .join(TestRun, TestRun.id == TestRunItem.test_run_id)
        .where(TestRun.project_id == principal.project_id)
    )
    if run_id is not None:
        statement = statement.where(TestRunItem.test_run_id == run_id)
    return statement


async def _locked_item(
    session: AsyncSession,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
) -> tuple[TestRunItem, TestRun]:
    row = (
        await session.execute(
            _scoped_items(principal, run_id)
            .add_columns(TestRun)
            .where(TestRunItem.id == item_id)
            .with_for_update(of=TestRun)
        )
    ).one_or_none()
    if row is None:
        raise NotFound.of("Test run item", item_id)
    item, run = row
    return item, run


async def remove_test_run_item(
    session: AsyncSession,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Take an item out of its pending run; the items after it move up one place.

    With `run_id`, an item of another run is NotFound.
    """
    require_writer(principal)
    item, run = await _locked_item(session, principal=principal, item_id=item_id, run_id=run_id)
    require_pending(run, "remove items from test run")
    await session.execute(delete(TestRunItem).where(TestRunItem.id == item.id))
    await session.execute(
        update(TestRunItem)
        .where(
            TestRunItem.test_run_id == run.id,
            TestRunItem.execution_order > item.execution_order,
        )
        .values(execution_order=TestRunItem.execution_order - 1)
        .execution_options(synchronize_session=False)
    )
    await recount_test_run(session, run)
    await append_run_event(
        session,
        run_id=run.id,
        type="items.removed",
        payload={"item_ids": [str(item.id)], "total_tests": run.total_tests},
    )
    return item.id


async def reorder_test_run_items(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID],
) -> list[TestRunItem]:
    """Give a pending run's items the order of `item_ids`, which must name each exactly once."""
    require_writer(principal)
    data = parse(TestRunItemsOrder, {"item_ids": item_ids})
    run = await lock_test_run(session, principal=principal, run_id=run_id)
    require_pending(run, "reorder items of test run")
    items = {
        item.id: item
        for item in await session.scalars(
            select(TestRunItem).where(TestRunItem.test_run_id == run.id)
        )
    }
    if len(data.item_ids) != len(items) or set(data.item_ids) != set(items):
        raise ValidationFailed.of(
            "item_ids", f"Must list each of the run's {len(items)} items exactly once"
        )
    ordered = [items[item_id] for item_id in data.item_ids]
    for order, item in enumerate(ordered, start=1):
        item.execution_order = order
    await session.flush()
    await append_run_event(
        session,
        run_id=run.id,
        type="items.reordered",
        payload={"item_ids": [str(item_id) for item_id in data.item_ids]},
    )
    return ordered


async def move_test_run_item(
    session: AsyncSession,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    data: TestRunItemMove,
    run_id: uuid.UUID | None = None,
) -> TestRunItem:
    """Put an item of a pending run at `execution_order`; the items between shift by one."""
    require_writer(principal)
    item, run = await _locked_item(session, principal=principal, item_id=item_id, run_id=run_id)
    require_pending(run, "reorder items of test run")
    ordered = list(
        await session.scalars(
            select(TestRunItem)
            .where(TestRunItem.test_run_id == run.id)
            .order_by(TestRunItem.execution_order, TestRunItem.id)
        )
    )
    ordered.remove(item)
    ordered.insert(min(data.execution_order, len(ordered) + 1) - 1, item)
    for order, each in enumerate(ordered, start=1):
        each.execution_order = order
    await session.flush()
    await append_run_event(
        session,
        run_id=run.id,
        type="items.reordered",
        payload={"item_ids": [str(each.id) for each in ordered]},
    )
    return item


async def read_test_run_item(
    session: AsyncSession,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
) -> TestRunItem:
    """An item of one of the caller's project's runs (of `run_id`, when given), or NotFound."""
    item = await session.scalar(_scoped_items(principal, run_id).where(TestRunItem.id == item_id))
    if item is None:
        raise NotFound.of("Test run item", item_id)
    return item


async def read_test_run_items(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[TestRunItem], int]:
    """One page of a run's items in execution order, and how many it has; NotFound for the run."""
    if await session.scalar(scoped_runs(principal).where(TestRun.id == run_id)) is None:
        raise NotFound.of("Test run", run_id)
    statement = select(TestRunItem).where(TestRunItem.test_run_id == run_id)
    return await read_page(session, statement, page, TestRunItem.execution_order, TestRunItem.id)


_ITEMS_BY_RUN = (
    select(TestRunItem)
    .where(keyed(TestRunItem.test_run_id))
    .order_by(TestRunItem.test_run_id, TestRunItem.execution_order)
)


async def load_items_by_run(
    session: AsyncSession, run_ids: Sequence[uuid.UUID]
) -> list[list[TestRunItem]]:
    """Each run's items in execution order, for runs in the order asked; one SELECT in all."""
    rows = await batch_rows(session, _ITEMS_BY_RUN, run_ids)
    return group_rows(run_ids, rows, lambda item: item.test_run_id)
