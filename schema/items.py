"""GraphQL type and root fields of test run items: the test cases of a run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry

from models import enums
from models import runs as rows
from resolvers import items
from resolvers.results import load_latest_results_by_item, load_results_by_item
from resolvers.test_cases import load_test_cases
from schema.common import Long, selected_names
from schema.context import Info
from schema.enums import ItemStatus
from schema.results import TestRunResult
from schema.test_cases import TestCase


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
    vnc_url: str | None = strawberry.field(description="Live view of its browser while running.")
    attempt: int = strawberry.field(description="Executions started so far (for retries).")
    claimed_by: str | None = strawberry.field(description="Worker executing it.")
    heartbeat_at: datetime | None = strawberry.field(
        description="Last sign of life of its worker; stale ones are re-queued."
    )
    created_at: datetime = strawberry.field(description="When it was added to the run.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    # The nested fields the query selected, by GraphQL name, fetched for all items at once
    # by `load_many`: a run's 100 items resolve them without 100 awaits each.
    related: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The test case it executes (also when deleted since).")
    def test_case(self) -> TestCase | None:
        """The test case `load_many` fetched."""
        found: TestCase | None = self.related["testCase"]
        return found

    @strawberry.field(description="Its results: one per attempt and data row, in that order.")
    def results(self) -> list[TestRunResult]:
        """The results `load_many` fetched."""
        found: list[TestRunResult] = self.related["results"]
        return found

    @strawberry.field(description="Its latest result (last attempt, last submitted); null if none.")
    def latest_result(self) -> TestRunResult | None:
        """The latest result `load_many` fetched."""
        found: TestRunResult | None = self.related["latestResult"]
        return found

    @classmethod
    async def load_many(cls, info: Info, found: Sequence[rows.TestRunItem]) -> list[TestRunItem]:
        """The items of `found`, with each nested field the query selects under them.

        Every selected nested field is one DataLoader batch for all the items (so one SQL
        statement however many items, runs or aliases there are).
        """
        wanted = selected_names(info)
        nested = [name for name in _NESTED if name in wanted]
        loaded = await asyncio.gather(*(_NESTED[name](info, found) for name in nested))
        return [
            cls._from_model(
                row, {name: values[n] for name, values in zip(nested, loaded, strict=True)}
            )
            for n, row in enumerate(found)
        ]

    @classmethod
    def _from_model(cls, row: rows.TestRunItem, related: dict[str, Any]) -> TestRunItem:
        return cls(
            id=row.id,
            test_run_id=row.test_run_id,
            test_case_id=row.test_case_id,
            execution_order=row.execution_order,
            status=ItemStatus(row.status),
            started_at=row.started_at,
            completed_at=row.completed_at,
            duration_ms=Long(row.duration_ms),
            total_steps=row.total_steps,
            passed_steps=row.passed_steps,
            failed_steps=row.failed_steps,
            skipped_steps=row.skipped_steps,
            total_checkpoints=row.total_checkpoints,
            passed_checkpoints=row.passed_checkpoints,
            failed_checkpoints=row.failed_checkpoints,
            is_data_driven=row.is_data_driven,
            total_iterations=row.total_iterations,
            passed_iterations=row.passed_iterations,
            failed_iterations=row.failed_iterations,
            retry_attempt=row.retry_attempt,
            max_retries_exhausted=row.max_retries_exhausted,
            error_message=row.error_message,
            error_screenshot_path=row.error_screenshot_path,
            results_folder=row.results_folder,
            current_step=row.current_step,
            vnc_url=row.vnc_url,
            attempt=row.attempt,
            claimed_by=row.claimed_by,
            heartbeat_at=row.heartbeat_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            related=related,
        )


async def _test_cases(info: Info, found: Sequence[rows.TestRunItem]) -> list[TestCase | None]:
    loaded = await info.context.loader(load_test_cases).load_many([i.test_case_id for i in found])
    return [None if row is None else TestCase.from_model(row) for row in loaded]


async def _results(info: Info, found: Sequence[rows.TestRunItem]) -> list[list[TestRunResult]]:
    loaded = await info.context.loader(load_results_by_item).load_many([i.id for i in found])
    return [[TestRunResult.from_model(row) for row in rows_] for rows_ in loaded]


async def _latest_results(
    info: Info, found: Sequence[rows.TestRunItem]
) -> list[TestRunResult | None]:
    loader = info.context.loader(load_latest_results_by_item)
    loaded = await loader.load_many([i.id for i in found])
    return [None if row is None else TestRunResult.from_model(row) for row in loaded]


_NESTED: dict[str, Callable[[Info, Sequence[rows.TestRunItem]], Awaitable[list[Any]]]] = {
    "testCase": _test_cases,
    "results": _results,
    "latestResult": _latest_results,
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
