"""REST routes of what executing produced: results, steps, checkpoints, logs, scripts, history.

Submissions are the spec's "Manual Test Run Workflow": they are taken for runs whose
`executor` is `client` (422 otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import Field

from resolvers import baselines, checkpoints, history, logs, results, script_results, steps
from resolvers.checkpoints import CheckpointResultInput
from resolvers.logs import ConsoleLogBatch, NetworkLogBatch
from resolvers.results import ResultSubmission
from resolvers.script_results import ScriptResultInput
from resolvers.steps import StepResultBatch, StepResultInput
from resolvers.validation import Input, PageInput
from server.rest.bodies import (
    Body,
    CheckpointResultBody,
    ConsoleLogBody,
    HistoryEntryBody,
    NetworkLogBody,
    ScreenshotBaselineBody,
    ScriptResultBody,
    StepResultBody,
    TestRunResultBody,
    body,
    page_body,
    page_of,
)
from server.rest.operations import AnyOperation, Call, NoBody, NoQuery, Operation, Reply

RESULT = "/api/v1/test-run-results/{result_id}"
TAG = "Test run results"
STEPS_TAG = "Step results"
CHECKS_TAG = "Checkpoint results"
LOGS_TAG = "Logs"
SCRIPTS_TAG = "Script results"
WRITE_ERRORS = (400, 403, 404, 409, 422)
READ_ERRORS = (400, 404)

Added = body(
    "RowsAdded",
    "How many rows a bulk call added to the result.",
    test_run_result_id=(uuid.UUID, ...),
    total_added=(int, ...),
)
HistoryStatistics = body(
    "TestCaseHistoryStatistics",
    "How all executions of the test case went.",
    total_executions=(int, ...),
    passed=(int, ...),
    failed=(int, ...),
    skipped=(int, ...),
    overall_pass_rate=(float, ...),
    avg_duration_ms=(int, ...),
    flake_rate=(float, ...),
    is_flaky=(bool, ...),
)
History = body(
    "TestCaseHistory",
    "A test case's latest executions, newest first, and statistics over all of them.",
    test_case_id=(uuid.UUID, ...),
    test_case_name=(str, ...),
    history=(list[HistoryEntryBody], ...),  # type: ignore[valid-type]  # built at runtime
    total=(int, ...),
    statistics=(HistoryStatistics, ...),
)


# A resolver reading one page of a result's rows, e.g. `steps.read_step_results`.
ReadRows = Callable[..., Awaitable[tuple[Sequence[Any], int]]]


class HistoryQuery(Input):
    """How many of the latest executions to list."""

    limit: int = Field(default=10, ge=1, le=history.MAX_HISTORY)


async def _result_rows(call: Call[NoBody, PageInput], read: ReadRows, row: Body) -> Reply:
    async with call.reading() as session:
        rows, total = await read(
            session, principal=call.principal, result_id=call.id("result_id"), page=call.query
        )
    return page_body(row, rows, total, call.query)


async def submit_test_run_result(call: Call[ResultSubmission, NoQuery]) -> Reply:
    """Record one attempt (or data row) of an item of a running client run.

    The item and run statistics follow; the run completes with its last final item.
    """
    async with call.writing() as session:
        row = await results.submit_test_run_result(
            session, principal=call.principal, data=call.body
        )
    return TestRunResultBody.model_validate(row)


async def get_test_run_result(call: Call[NoBody, NoQuery]) -> Reply:
    """One result of the project."""
    async with call.reading() as session:
        row = await results.read_test_run_result(
            session, principal=call.principal, result_id=call.id("result_id")
        )
    return TestRunResultBody.model_validate(row)


async def list_test_run_results(call: Call[NoBody, PageInput]) -> Reply:
    """A run's results in item order, then by attempt."""
    async with call.reading() as session:
        rows, total = await results.read_test_run_results(
            session, principal=call.principal, run_id=call.id("run_id"), page=call.query
        )
    return page_body(TestRunResultBody, rows, total, call.query)


async def list_item_results(call: Call[NoBody, PageInput]) -> Reply:
    """An item's results by attempt."""
    async with call.reading() as session:
        rows, total = await results.read_item_results(
            session, principal=call.principal, item_id=call.id("item_id"), page=call.query
        )
    return page_body(TestRunResultBody, rows, total, call.query)


async def get_test_case_history(call: Call[NoBody, HistoryQuery]) -> Reply:
    """A test case's latest executions, newest first, with statistics over all of them."""
    async with call.reading() as session:
        found = await history.read_test_case_history(
            session,
            principal=call.principal,
            test_case_id=call.id("test_case_id"),
            limit=call.query.limit,
            flaky_window=call.services.settings.flaky_window,
        )
    statistics = found.statistics
    return History(
        test_case_id=found.test_case.id,
        test_case_name=found.test_case.name,
        history=[HistoryEntryBody.model_validate(row) for row in found.entries],
        total=found.total,
        statistics=HistoryStatistics(
            total_executions=statistics.total_executions,
            passed=statistics.passed,
            failed=statistics.failed,
            skipped=statistics.skipped,
            overall_pass_rate=statistics.overall_pass_rate,
            avg_duration_ms=statistics.avg_duration_ms,
            flake_rate=statistics.flakiness.flake_rate,
            is_flaky=statistics.flakiness.is_flaky,
        ),
    )


async def list_step_results(call: Call[NoBody, PageInput]) -> Reply:
    """A result's steps by step number."""
    return await _result_rows(call, steps.read_step_results, StepResultBody)


async def get_step_result(call: Call[NoBody, NoQuery]) -> Reply:
    """The result's step with this step number."""
    async with call.reading() as session:
        row = await steps.read_step_result(
            session,
            principal=call.principal,
            result_id=call.id("result_id"),
            step_number=call.number("step_number"),
        )
    return StepResultBody.model_validate(row)


async def add_step_result(call: Call[StepResultInput, NoQuery]) -> Reply:
    """Add one step; the result's step counts follow (409 if the number is taken)."""
    async with call.writing() as session:
        row = await steps.add_step_result(
            session, principal=call.principal, result_id=call.id("result_id"), step=call.body
        )
    return StepResultBody.model_validate(row)


async def add_step_results(call: Call[StepResultBatch, NoQuery]) -> Reply:
    """Add up to 5,000 steps in one INSERT; the result's step counts follow.

    A step number the result already has is 409 and adds nothing, so a retry is safe.
    """
    async with call.writing() as session:
        result = await steps.add_step_results(
            session, principal=call.principal, result_id=call.id("result_id"), steps=call.body.steps
        )
    return Added(test_run_result_id=result.id, total_added=len(call.body.steps))


async def list_checkpoint_results(call: Call[NoBody, PageInput]) -> Reply:
    """A result's checkpoints as added."""
    return await _result_rows(call, checkpoints.read_checkpoint_results, CheckpointResultBody)


async def add_checkpoint_result(call: Call[CheckpointResultInput, NoQuery]) -> Reply:
    """Add one checkpoint; the result's checkpoint counts follow."""
    async with call.writing() as session:
        row = await checkpoints.add_checkpoint_result(
            session, principal=call.principal, result_id=call.id("result_id"), checkpoint=call.body
        )
    return CheckpointResultBody.model_validate(row)


async def accept_screenshot_baseline(call: Call[NoBody, NoQuery]) -> Reply:
    """Make a screenshot checkpoint's actual image its name's baseline."""
    async with call.writing() as session:
        row = await baselines.accept_screenshot_baseline(
            session, principal=call.principal, checkpoint_id=call.id("checkpoint_id")
        )
    return ScreenshotBaselineBody.model_validate(row)


async def list_console_logs(call: Call[NoBody, PageInput]) -> Reply:
    """A result's browser console messages by time."""
    return await _result_rows(call, logs.read_console_logs, ConsoleLogBody)


async def add_console_logs(call: Call[ConsoleLogBatch, NoQuery]) -> Reply:
    """Add up to 5,000 console messages in one INSERT."""
    async with call.writing() as session:
        result = await logs.add_console_logs(
            session, principal=call.principal, result_id=call.id("result_id"), logs=call.body.logs
        )
    return Added(test_run_result_id=result.id, total_added=len(call.body.logs))


async def list_network_logs(call: Call[NoBody, PageInput]) -> Reply:
    """A result's network requests by time."""
    return await _result_rows(call, logs.read_network_logs, NetworkLogBody)


async def add_network_logs(call: Call[NetworkLogBatch, NoQuery]) -> Reply:
    """Add up to 5,000 network requests in one INSERT."""
    async with call.writing() as session:
        result = await logs.add_network_logs(
            session, principal=call.principal, result_id=call.id("result_id"), logs=call.body.logs
        )
    return Added(test_run_result_id=result.id, total_added=len(call.body.logs))


async def list_script_results(call: Call[NoBody, PageInput]) -> Reply:
    """A result's script executions as added."""
    return await _result_rows(call, script_results.read_script_results, ScriptResultBody)


async def add_script_result(call: Call[ScriptResultInput, NoQuery]) -> Reply:
    """Record a script execution; a failed critical pre-script marks the result aborted."""
    async with call.writing() as session:
        row = await script_results.record_script_result(
            session, principal=call.principal, result_id=call.id("result_id"), data=call.body
        )
    return ScriptResultBody.model_validate(row)


OPERATIONS: list[AnyOperation] = [
    Operation("POST", "/api/v1/test-run-results", submit_test_run_result, "Submit a result",
              TAG, ResultSubmission, NoQuery, TestRunResultBody, status=201, errors=WRITE_ERRORS),
    Operation("GET", RESULT, get_test_run_result, "Get a result", TAG, NoBody, NoQuery,
              TestRunResultBody),
    Operation("GET", "/api/v1/test-runs/{run_id}/results", list_test_run_results,
              "List a run's results", TAG, NoBody, PageInput, page_of(TestRunResultBody),
              errors=READ_ERRORS),
    Operation("GET", "/api/v1/test-run-items/{item_id}/results", list_item_results,
              "List an item's results", TAG, NoBody, PageInput, page_of(TestRunResultBody),
              errors=READ_ERRORS),
    Operation("GET", "/api/v1/test-cases/{test_case_id}/history", get_test_case_history,
              "Get a test case's execution history", TAG, NoBody, HistoryQuery, History,
              errors=READ_ERRORS),
    Operation("GET", RESULT + "/steps", list_step_results, "List step results", STEPS_TAG,
              NoBody, PageInput, page_of(StepResultBody), errors=READ_ERRORS),
    Operation("POST", RESULT + "/steps/bulk", add_step_results, "Add step results in bulk",
              STEPS_TAG, StepResultBatch, NoQuery, Added, status=201, errors=WRITE_ERRORS),
    Operation("GET", RESULT + "/steps/{step_number}", get_step_result, "Get a step result",
              STEPS_TAG, NoBody, NoQuery, StepResultBody),
    Operation("POST", RESULT + "/steps", add_step_result, "Add a step result", STEPS_TAG,
              StepResultInput, NoQuery, StepResultBody, status=201, errors=WRITE_ERRORS),
    Operation("GET", RESULT + "/checkpoints", list_checkpoint_results, "List checkpoint results",
              CHECKS_TAG, NoBody, PageInput, page_of(CheckpointResultBody), errors=READ_ERRORS),
    Operation("POST", RESULT + "/checkpoints", add_checkpoint_result, "Add a checkpoint result",
              CHECKS_TAG, CheckpointResultInput, NoQuery, CheckpointResultBody, status=201,
              errors=WRITE_ERRORS),
    Operation("POST", "/api/v1/checkpoint-results/{checkpoint_id}/accept-baseline",
              accept_screenshot_baseline, "Accept a screenshot as the baseline", CHECKS_TAG,
              NoBody, NoQuery, ScreenshotBaselineBody, errors=WRITE_ERRORS),
    Operation("GET", RESULT + "/console-logs", list_console_logs, "List console logs", LOGS_TAG,
              NoBody, PageInput, page_of(ConsoleLogBody), errors=READ_ERRORS),
    Operation("POST", RESULT + "/console-logs/bulk", add_console_logs, "Add console logs",
              LOGS_TAG, ConsoleLogBatch, NoQuery, Added, status=201, errors=WRITE_ERRORS),
    Operation("GET", RESULT + "/network-logs", list_network_logs, "List network logs", LOGS_TAG,
              NoBody, PageInput, page_of(NetworkLogBody), errors=READ_ERRORS),
    Operation("POST", RESULT + "/network-logs/bulk", add_network_logs, "Add network logs",
              LOGS_TAG, NetworkLogBatch, NoQuery, Added, status=201, errors=WRITE_ERRORS),
    Operation("GET", RESULT + "/scripts", list_script_results, "List script results",
              SCRIPTS_TAG, NoBody, PageInput, page_of(ScriptResultBody), errors=READ_ERRORS),
    Operation("POST", RESULT + "/scripts", add_script_result, "Add a script result",
              SCRIPTS_TAG, ScriptResultInput, NoQuery, ScriptResultBody, status=201,
              errors=WRITE_ERRORS),
]  # fmt: skip
