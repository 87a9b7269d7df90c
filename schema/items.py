"""GraphQL type and root fields of test run items: the test cases of a run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import strawberry

from models import enums
from models import runs as rows
from resolvers import items
from resolvers.batches import Columns
from resolvers.item_rows import ItemColumns, ItemRow, load_item_rows_by_run
from resolvers.results import load_latest_result_columns_by_item, load_results_by_item
from resolvers.test_cases import load_test_case_columns
from schema.context import Info
from schema.conversion import from_columns, selected_names
from schema.enums import ItemStatus
from schema.projection import Projection, by_value
from schema.results import RESULT_COLUMNS, TestRunResult
from schema.scalars import Long
from schema.test_cases import TEST_CASE_COLUMNS, TestCase


@strawberry.type(description="One test case in a run: its place, status, live progress and stats.")
class TestRunItem:
    """GraphQL view of a test run item."""

    __test__ = False  # not a pytest class, despite its name
    id: uuid.UUID = strawberry.field(description="Item id.")
    test_run_id: uuid.UUID = strawberry.field(description="Run it belongs to.")
    test_case_id: uuid.UUID = strawberry.field(description="Test case it executes.")
    execution_order: int = strawberry.field(description="Place in the run, from 1.")
    status: enums.ItemStatus = strawberry.field(description="Where the item is in its life.")
    started_at: datetime | None = strawberry.field(description="When it started executing.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: Long = strawberry.field(description="Execution time in milliseconds.")
    total_steps: int = strawberry.field(description="Steps of the latest attempt.")
    passed_steps: int = strawberry.field(description="Steps that passed.")
    failed_steps: int = strawberry.field(description="Steps that failed.")
    skipped_steps: int = strawberry.field(description="Steps skipped (after a failure).")
    total_checkpoints: int = strawberry.field(description="Checkpoints verified.")
    passed_checkpoints: int = strawberry.field(description="Checkpoints that passed.")
    failed_checkpoints: int = strawberry.field(description="Checkpoints that failed.")
    is_data_driven: bool = strawberry.field(description="Whether it replays once per data row.")
    total_iterations: int = strawberry.field(description="Data rows replayed.")
    passed_iterations: int = strawberry.field(description="Data rows that passed.")
    failed_iterations: int = strawberry.field(description="Data rows that failed.")
    retry_attempt: int = strawberry.field(description="Attempt that decided it (0 = first try).")
    max_retries_exhausted: bool = strawberry.field(description="Whether every retry failed.")
    error_message: str | None = strawberry.field(description="Why it failed, if it did.")
    error_screenshot_path: str | None = strawberry.field(
        description="Screenshot taken at the failure."
    )
    results_folder: str | None = strawberry.field(description="Where its artifacts are stored.")
    current_step: int = strawberry.field(description="Step executing now (live progress).")
    attempt: int = strawberry.field(description="Executions started so far (for retries).")
    claimed_by: str | None = strawberry.field(description="Worker executing it.")
    heartbeat_at: datetime | None = strawberry.field(
        description="Last sign of life of its worker; stale ones are re-queued."
    )
    created_at: datetime = strawberry.field(description="When it was added to the run.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    # As stored: the local sandbox's unsigned live view URL, or E2B's stream URL.
    stored_vnc_url: strawberry.Private[str | None]
    # The nested fields are fetched for all the items at once by `load_many`, which fills
    # in those the query selects: a run's 100 items answer them without 100 awaits each.
    test_case: TestCase | None = strawberry.field(
        default=None, description="The test case it executes (also when deleted since)."
    )
    results: list[TestRunResult] = strawberry.field(
        default_factory=list,
        description="Its results: one per attempt and data row, in that order.",
    )
    latest_result: TestRunResult | None = strawberry.field(
        default=None,
        description="Its latest result (last attempt, last submitted); null if none.",
    )

    @classmethod
    async def load_many(cls, info: Info, found: Sequence[rows.TestRunItem]) -> list[TestRunItem]:
        """The items of `found`, with each nested field the query selects under them.

        Every selected nested field is one loader batch for all the items (so one SQL
        statement however many items, runs or aliases there are); the others stay empty.
        """
        return await cls.with_nested(info, [cls.from_model(row) for row in found])

    @classmethod
    async def load_run_items(cls, info: Info, run_id: uuid.UUID) -> list[TestRunItem]:
        """The run's items in execution order, of the columns the query selects under them.

        Their test cases and latest results, when selected, come in the same statement
        (one for all the runs of the request, whatever their number of items).
        """
        columns = item_columns(info)
        found = await info.context.column_loader(load_item_rows_by_run, columns).load(run_id)
        return await cls.from_item_rows(info, columns, found)

    @classmethod
    async def from_item_rows(
        cls, info: Info, columns: ItemColumns, found: Sequence[ItemRow]
    ) -> list[TestRunItem]:
        """The items of `found` (of `columns`), with the nested fields the query selects."""
        built = ITEM_COLUMNS.build_values(columns.item, [row.item for row in found])
        filled: dict[str, list[Any]] = {}
        if columns.test_case:
            rows_ = [row.test_case for row in found]
            filled["testCase"] = TEST_CASE_COLUMNS.build_values(columns.test_case, rows_)
        if columns.latest_result:
            rows_ = [row.latest_result for row in found]
            filled["latestResult"] = RESULT_COLUMNS.build_values(columns.latest_result, rows_)
        return await cls.with_nested(info, [item for item in built if item is not None], filled)

    @classmethod
    async def with_nested(
        cls, info: Info, built: list[TestRunItem], filled: dict[str, list[Any]] | None = None
    ) -> list[TestRunItem]:
        """`built`, with each nested field the query selects under them filled in.

        `filled` gives those already read, by GraphQL name. Every other selected nested
        field is one loader batch for all the items (so one SQL statement however many
        items, runs or aliases there are); the unselected ones stay empty.
        """
        wanted = selected_names(info)
        filled = filled or {}
        fetch = [
            nested for field, nested in _NESTED.items() if field in wanted and field not in filled
        ]
        loaded = await asyncio.gather(*(nested.fetch(info, built) for nested in fetch))
        unselected = {
            nested.attribute: nested.unselected
            for field, nested in _NESTED.items()
            if field not in wanted
        }
        for item in built:
            vars(item).update(unselected)
        fetched = [(nested.attribute, values) for nested, values in zip(fetch, loaded, strict=True)]
        fetched += [(_NESTED[field].attribute, values) for field, values in filled.items()]
        for attribute, values in fetched:
            for item, value in zip(built, values, strict=True):
                vars(item)[attribute] = value
        return built

    @classmethod
    def from_model(cls, row: rows.TestRunItem) -> TestRunItem:
        """Build from the ORM row, its nested fields empty."""
        return from_columns(
            cls,
            row,
            status=ItemStatus(row.status),
            stored_vnc_url=row.vnc_url,
            test_case=None,
            results=[],
            latest_result=None,
        )

    @strawberry.field(
        description="Live view of its browser while running: a link that opens without a "
        "token and expires (read it again for a fresh one)."
    )
    def vnc_url(self, info: Info) -> str | None:
        """The live view URL, signed now."""
        return info.context.live_view_url(self.stored_vnc_url, item_id=self.id)

    @strawberry.field(description="Screenshot taken at the failure: a signed link that expires.")
    def error_screenshot_url(self, info: Info) -> str | None:
        """Signed URL of `error_screenshot_path`."""
        return info.context.artifact_url(self.error_screenshot_path, owner=self.id)


# Items read for a query, of the columns it selects (see `Projection`).
ITEM_COLUMNS = Projection(
    TestRunItem,
    rows.TestRunItem,
    keys=("id", "test_run_id", "test_case_id"),
    needs={
        "testCase": (),
        "results": (),
        "latestResult": (),
        "vncUrl": ("vnc_url",),
        "errorScreenshotUrl": ("error_screenshot_path",),
    },
    renamed={"vnc_url": "stored_vnc_url"},
    convert={"status": by_value(ItemStatus)},
)


def item_columns(info: Info, *path: str) -> ItemColumns:
    """The columns of the items the query selects under `path` (their field: none)."""
    wanted = selected_names(info, *path)
    return ItemColumns(
        ITEM_COLUMNS.columns(wanted),
        _nested_columns(info, wanted, (*path, "testCase"), TEST_CASE_COLUMNS),
        _nested_columns(info, wanted, (*path, "latestResult"), RESULT_COLUMNS),
    )


def _nested_columns(
    info: Info, wanted: set[str], path: tuple[str, ...], projection: Projection[Any]
) -> Columns:
    """The columns of the nested field at `path` the query selects; none when unselected."""
    return projection.columns(selected_names(info, *path)) if path[-1] in wanted else ()


async def _test_cases(info: Info, found: Sequence[TestRunItem]) -> list[TestCase | None]:
    columns = TEST_CASE_COLUMNS.columns(selected_names(info, "testCase"))
    loader = info.context.column_loader(load_test_case_columns, columns)
    loaded = await loader.load_many([item.test_case_id for item in found])
    return TEST_CASE_COLUMNS.build_optional(loaded)


async def _results(info: Info, found: Sequence[TestRunItem]) -> list[list[TestRunResult]]:
    loaded = await info.context.loader(load_results_by_item).load_many([i.id for i in found])
    return [[TestRunResult.from_model(row) for row in rows_] for rows_ in loaded]


async def _latest_results(info: Info, found: Sequence[TestRunItem]) -> list[TestRunResult | None]:
    columns = RESULT_COLUMNS.columns(selected_names(info, "latestResult"))
    loader = info.context.column_loader(load_latest_result_columns_by_item, columns)
    loaded = await loader.load_many([item.id for item in found])
    return RESULT_COLUMNS.build_optional(loaded)


class _Nested(NamedTuple):
    """A nested field of items: where it is kept, how it is fetched, its value when unasked."""

    attribute: str
    fetch: Callable[[Info, Sequence[TestRunItem]], Awaitable[list[Any]]]
    unselected: Any  # never read: GraphQL answers only what the query selects


_NESTED: dict[str, _Nested] = {
    "testCase": _Nested("test_case", _test_cases, None),
    "results": _Nested("results", _results, []),
    "latestResult": _Nested("latest_result", _latest_results, None),
}


@strawberry.type
class ItemQuery:
    """Run item fields of the Query root."""

    @strawberry.field(description="One item of a run of the project.")
    async def test_run_item(self, info: Info, id: uuid.UUID) -> TestRunItem:
        """Read a run item."""
        async with info.context.session() as session:
            row = await items.read_test_run_item(
                session, principal=info.context.principal, item_id=id
            )
        return (await TestRunItem.load_many(info, [row]))[0]


@strawberry.type
class ItemMutation:
    """Run item fields of the Mutation root; items change only while their run is pending."""

    @strawberry.mutation(
        description="Append test cases to a pending run, in the order given (at most 1000)."
    )
    async def add_test_run_items(
        self, info: Info, run_id: uuid.UUID, test_case_ids: list[uuid.UUID]
    ) -> list[TestRunItem]:
        """Add items to a run."""
        async with info.context.transaction() as session:
            added = await items.add_test_run_items(
                session,
                principal=info.context.principal,
                run_id=run_id,
                test_case_ids=test_case_ids,
            )
        return await TestRunItem.load_many(info, added)

    @strawberry.mutation(description="Take an item out of its pending run; returns its id.")
    async def remove_test_run_item(self, info: Info, id: uuid.UUID) -> uuid.UUID:
        """Remove an item from its run."""
        async with info.context.transaction() as session:
            return await items.remove_test_run_item(
                session, principal=info.context.principal, item_id=id
            )

    @strawberry.mutation(
        description="Set the execution order of a pending run: `itemIds` lists every item once."
    )
    async def reorder_test_run_items(
        self, info: Info, run_id: uuid.UUID, item_ids: list[uuid.UUID]
    ) -> list[TestRunItem]:
        """Reorder a run's items."""
        async with info.context.transaction() as session:
            ordered = await items.reorder_test_run_items(
                session, principal=info.context.principal, run_id=run_id, item_ids=item_ids
            )
        return await TestRunItem.load_many(info, ordered)
