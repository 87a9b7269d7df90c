"""REST routes of test runs and their items (test-run-api.md "Test Runs", "Test Run Items")."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from starlette.responses import Response

from models import enums
from models.runs import TestRunItem
from resolvers import history, items, runs
from resolvers.items import TestRunItemAdd, TestRunItemMove, TestRunItemsAdd, TestRunItemsOrder
from resolvers.run_inputs import StartOptions, TestRunCreate, TestRunFilter, TestRunUpdate
from resolvers.validation import PageInput
from server.rest.bodies import TestRunBody, TestRunItemBody, body, page_body, page_of
from server.rest.operations import (
    AnyOperation,
    Call,
    NoBody,
    NoQuery,
    Operation,
    Reply,
    json_reply,
)

RUNS = "/api/v1/test-runs"
RUN = RUNS + "/{run_id}"
ITEMS = RUN + "/items"
ITEM = ITEMS + "/{item_id}"
IDEMPOTENCY_KEY = "Idempotency-Key"
TAG = "Test runs"
ITEMS_TAG = "Test run items"

TestRunPage = page_of(TestRunBody)
TestRunItemPage = page_of(TestRunItemBody)
TestRunItemList = body(
    "TestRunItemList",
    "A run's items in execution order.",
    items=(list[TestRunItemBody], ...),  # type: ignore[valid-type]  # a model built at runtime
)
ItemsAdded = body(
    "TestRunItemsAdded",
    "The items added, in execution order.",
    items=(list[TestRunItemBody], ...),  # type: ignore[valid-type]
    total_added=(int, ...),
)
StartedRun = body(
    "StartedTestRun",
    "The started run.",
    id=(uuid.UUID, ...),
    status=(enums.RunStatus, ...),
    started_at=(datetime | None, ...),
    message=(str, Field(description='E.g. "Test run started with 3 test cases".')),
)
SummaryTotals = body(
    "TestRunSummaryTotals",
    "A run's test counts and its items' step and checkpoint totals.",
    **{
        name: (float if name == "pass_rate" else int, ...)
        for name in [
            "total_tests",
            "passed_tests",
            "failed_tests",
            "skipped_tests",
            "no_run_tests",
            "pass_rate",
            "total_steps",
            "passed_steps",
            "failed_steps",
            "skipped_steps",
            "total_checkpoints",
            "passed_checkpoints",
            "failed_checkpoints",
        ]
    },
)
SummaryItem = body(
    "TestRunSummaryItem",
    "One item of a summary.",
    id=(uuid.UUID, ...),
    test_case_id=(uuid.UUID, ...),
    test_case_name=(str, ...),
    status=(enums.ItemStatus, ...),
    duration_ms=(int, ...),
    pass_rate=(float, ...),
    error_message=(str | None, ...),
)
RunSummary = body(
    "TestRunSummary",
    "A run's totals and each item's outcome.",
    id=(uuid.UUID, ...),
    run_name=(str, ...),
    status=(enums.RunStatus, ...),
    started_at=(datetime | None, ...),
    completed_at=(datetime | None, ...),
    duration_ms=(int, ...),
    summary=(SummaryTotals, ...),
    items=(list[SummaryItem], ...),  # type: ignore[valid-type]
)


def _items(rows: Sequence[TestRunItem]) -> list[BaseModel]:
    return [TestRunItemBody.model_validate(row) for row in rows]


async def create_test_run(call: Call[TestRunCreate, NoQuery]) -> Reply:
    """A new pending run, numbered after the project's last one.

    `executor: "client"` is the spec's manual workflow (you submit the results);
    `test_case_ids` become its items. With an `Idempotency-Key` header, a repeat answers
    200 with the run the key created first.
    """
    async with call.writing() as session:
        run, created = await runs.create_test_run(
            session,
            principal=call.principal,
            data=call.body,
            idempotency_key=call.request.headers.get(IDEMPOTENCY_KEY),
        )
    return json_reply(TestRunBody.model_validate(run), 201 if created else 200)


async def list_test_runs(call: Call[NoBody, TestRunFilter]) -> Reply:
    """The project's runs, filtered, sorted (newest first by default) and paginated."""
    async with call.reading() as session:
        rows, total = await runs.read_test_runs(session, principal=call.principal, query=call.query)
    return page_body(TestRunBody, rows, total, call.query)


async def get_test_run(call: Call[NoBody, NoQuery]) -> Reply:
    """One run of the project."""
    async with call.reading() as session:
        run = await runs.read_test_run(session, principal=call.principal, run_id=call.id("run_id"))
    return TestRunBody.model_validate(run)


async def update_test_run(call: Call[TestRunUpdate, NoQuery]) -> Reply:
    """Change the fields given: name, tags and notes any time, the rest while pending."""
    async with call.writing() as session:
        run = await runs.update_test_run(
            session, principal=call.principal, run_id=call.id("run_id"), data=call.body
        )
    return TestRunBody.model_validate(run)


async def delete_test_run(call: Call[NoBody, NoQuery]) -> Reply:
    """Delete a run that is not executing, with its items and results."""
    async with call.writing() as session:
        await runs.delete_test_run(session, principal=call.principal, run_id=call.id("run_id"))
    return Response(status_code=204)


async def start_test_run(call: Call[StartOptions, NoQuery]) -> Reply:
    """Start a pending run: running, its items queued; the body sets its environment.

    A server run goes to the workers; a client run waits for the results you submit.
    """
    async with call.writing() as session:
        run, message = await runs.start_test_run(
            session,
            principal=call.principal,
            run_id=call.id("run_id"),
            options=call.body,
            dispatcher=call.dispatcher,
        )
    return StartedRun(id=run.id, status=run.status, started_at=run.started_at, message=message)


async def stop_test_run(call: Call[NoBody, NoQuery]) -> Reply:
    """Stop a queued or running run: cancelled, its unfinished items skipped."""
    async with call.writing() as session:
        run = await runs.stop_test_run(session, principal=call.principal, run_id=call.id("run_id"))
    return TestRunBody.model_validate(run)


async def cancel_test_run(call: Call[NoBody, NoQuery]) -> Reply:
    """Cancel a run that has not ended, started or not: its unfinished items skipped."""
    async with call.writing() as session:
        run = await runs.cancel_test_run(
            session, principal=call.principal, run_id=call.id("run_id")
        )
    return TestRunBody.model_validate(run)


async def get_test_run_summary(call: Call[NoBody, NoQuery]) -> Reply:
    """The spec's summary: the run's counts, step and checkpoint totals, each item's outcome."""
    async with call.reading() as session:
        found = await history.read_test_run_summary(
            session, principal=call.principal, run_id=call.id("run_id")
        )
    run = found.run
    totals = {
        name: getattr(found, name)
        for name in SummaryTotals.model_fields
        if name.endswith(("_steps", "_checkpoints"))
    }
    return RunSummary(
        id=run.id,
        run_name=run.run_name,
        status=run.status,
        started_at=run.started_at,
        completed_at=run.completed_at,
        duration_ms=run.duration_ms,
        summary=SummaryTotals(
            **totals,
            total_tests=run.total_tests,
            passed_tests=run.passed_tests,
            failed_tests=run.failed_tests,
            skipped_tests=run.skipped_tests,
            no_run_tests=run.no_run_tests,
            pass_rate=run.pass_rate,
        ),
        items=[
            SummaryItem(
                id=entry.item.id,
                test_case_id=entry.item.test_case_id,
                test_case_name=entry.test_case_name,
                status=entry.item.status,
                duration_ms=entry.item.duration_ms,
                pass_rate=entry.pass_rate,
                error_message=entry.item.error_message,
            )
            for entry in found.items
        ],
    )


async def add_test_run_item(call: Call[TestRunItemAdd, NoQuery]) -> Reply:
    """Append one test case to a pending run (409 if it is already in the run)."""
    async with call.writing() as session:
        (item,) = await items.add_test_run_items(
            session,
            principal=call.principal,
            run_id=call.id("run_id"),
            test_case_ids=[call.body.test_case_id],
        )
    return TestRunItemBody.model_validate(item)


async def add_test_run_items(call: Call[TestRunItemsAdd, NoQuery]) -> Reply:
    """Append test cases to a pending run in the order given (409 if one is already in it)."""
    async with call.writing() as session:
        added = await items.add_test_run_items(
            session,
            principal=call.principal,
            run_id=call.id("run_id"),
            test_case_ids=call.body.test_case_ids,
        )
    return ItemsAdded(items=_items(added), total_added=len(added))


async def list_test_run_items(call: Call[NoBody, PageInput]) -> Reply:
    """A run's items in execution order, paginated."""
    async with call.reading() as session:
        rows, total = await items.read_test_run_items(
            session, principal=call.principal, run_id=call.id("run_id"), page=call.query
        )
    return page_body(TestRunItemBody, rows, total, call.query)


async def get_test_run_item(call: Call[NoBody, NoQuery]) -> Reply:
    """One item of the run."""
    async with call.reading() as session:
        item = await items.read_test_run_item(
            session, principal=call.principal, item_id=call.id("item_id"), run_id=call.id("run_id")
        )
    return TestRunItemBody.model_validate(item)


async def update_test_run_item(call: Call[TestRunItemMove, NoQuery]) -> Reply:
    """Move an item of a pending run to `execution_order`; the items between shift by one."""
    async with call.writing() as session:
        item = await items.move_test_run_item(
            session,
            principal=call.principal,
            item_id=call.id("item_id"),
            run_id=call.id("run_id"),
            data=call.body,
        )
    return TestRunItemBody.model_validate(item)


async def remove_test_run_item(call: Call[NoBody, NoQuery]) -> Reply:
    """Take an item out of a pending run; the items after it move up one place."""
    async with call.writing() as session:
        await items.remove_test_run_item(
            session, principal=call.principal, item_id=call.id("item_id"), run_id=call.id("run_id")
        )
    return Response(status_code=204)


async def reorder_test_run_items(call: Call[TestRunItemsOrder, NoQuery]) -> Reply:
    """Give a pending run's items the order of `item_ids`, which names each exactly once."""
    async with call.writing() as session:
        ordered = await items.reorder_test_run_items(
            session, principal=call.principal, run_id=call.id("run_id"), item_ids=call.body.item_ids
        )
    return TestRunItemList(items=_items(ordered))


WRITE_ERRORS = (400, 403, 404, 409, 422)
OPERATIONS: list[AnyOperation] = [
    Operation("POST", RUNS, create_test_run, "Create a test run", TAG, TestRunCreate, NoQuery,
              TestRunBody, status=201, repeat_status=200, errors=(400, 403, 404, 409),
              headers={IDEMPOTENCY_KEY: "Repeat-safe creation: a repeat answers the first run."}),
    Operation("GET", RUNS, list_test_runs, "List test runs", TAG, NoBody, TestRunFilter,
              TestRunPage, errors=(400,)),
    Operation("GET", RUN, get_test_run, "Get a test run", TAG, NoBody, NoQuery, TestRunBody),
    Operation("PUT", RUN, update_test_run, "Update a test run", TAG, TestRunUpdate, NoQuery,
              TestRunBody, errors=WRITE_ERRORS),
    Operation("DELETE", RUN, delete_test_run, "Delete a test run", TAG, NoBody, NoQuery, None,
              status=204, errors=WRITE_ERRORS),
    Operation("POST", RUN + "/start", start_test_run, "Start a test run", TAG, StartOptions,
              NoQuery, StartedRun, errors=WRITE_ERRORS),
    Operation("POST", RUN + "/stop", stop_test_run, "Stop a test run", TAG, NoBody, NoQuery,
              TestRunBody, errors=WRITE_ERRORS),
    Operation("POST", RUN + "/cancel", cancel_test_run, "Cancel a test run", TAG, NoBody,
              NoQuery, TestRunBody, errors=WRITE_ERRORS),
    Operation("GET", RUN + "/summary", get_test_run_summary, "Get a test run's summary", TAG,
              NoBody, NoQuery, RunSummary),
    Operation("POST", ITEMS + "/bulk", add_test_run_items, "Add test cases to a run", ITEMS_TAG,
              TestRunItemsAdd, NoQuery, ItemsAdded, status=201, errors=WRITE_ERRORS),
    Operation("POST", ITEMS + "/reorder", reorder_test_run_items, "Reorder a run's items",
              ITEMS_TAG, TestRunItemsOrder, NoQuery, TestRunItemList, errors=WRITE_ERRORS),
    Operation("POST", ITEMS, add_test_run_item, "Add a test case to a run", ITEMS_TAG,
              TestRunItemAdd, NoQuery, TestRunItemBody, status=201, errors=WRITE_ERRORS),
    Operation("GET", ITEMS, list_test_run_items, "List a run's items", ITEMS_TAG, NoBody,
              PageInput, TestRunItemPage, errors=(400, 404)),
    Operation("GET", ITEM, get_test_run_item, "Get a run item", ITEMS_TAG, NoBody, NoQuery,
              TestRunItemBody),
    Operation("PUT", ITEM, update_test_run_item, "Move a run item", ITEMS_TAG, TestRunItemMove,
              NoQuery, TestRunItemBody, errors=WRITE_ERRORS),
    Operation("DELETE", ITEM, remove_test_run_item, "Remove a run item", ITEMS_TAG, NoBody,
              NoQuery, None, status=204, errors=WRITE_ERRORS),
]  # fmt: skip
