"""GraphQL types and root fields of results: submission by client executors, summaries, history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from models import results as rows
from models.enums import ItemStatus, ResultStatus, RunStatus
from resolvers import checkpoints as checkpoints_
from resolvers import history as history_
from resolvers import logs as logs_
from resolvers import results, script_results
from resolvers import steps as steps_
from resolvers.validation import parse
from schema import enums as graphql_enums
from schema.context import Info
from schema.conversion import bulk_data, from_columns, input_data
from schema.projection import Projection, by_value
from schema.result_details import (
    CheckpointResult,
    CheckpointResultInput,
    ConsoleLog,
    ConsoleLogInput,
    NetworkLog,
    NetworkLogInput,
    ScriptResult,
    ScriptResultInput,
    StepResult,
    StepResultInput,
    TestRunResultInput,
)
from schema.scalars import JSON, Long


@strawberry.type(description="A file the page downloaded during a result.")
class CapturedDownload:
    """One entry of a result's `captured_downloads`."""

    file_name: str | None = strawberry.field(description="The name the page suggested.")
    source_url: str | None = strawberry.field(description="Where it was downloaded from.")
    step_number: int | None = strawberry.field(description="The step that downloaded it.")
    size_bytes: int | None = strawberry.field(description="Its size, once saved.")
    error: str | None = strawberry.field(description="Why it could not be saved.")
    download_url: str | None = strawberry.field(
        description="The saved file: a link that opens without a token and expires."
    )

    @classmethod
    def of(cls, entry: dict[str, Any], download_url: str | None) -> CapturedDownload:
        """Build from a stored entry and its signed URL."""
        return cls(
            file_name=_text(entry.get("file_name")),
            source_url=_text(entry.get("url")),
            step_number=_number(entry.get("step_number")),
            size_bytes=_number(entry.get("size_bytes")),
            error=_text(entry.get("error")),
            download_url=download_url,
        )


# Clients submit `captured_downloads` as free JSON: what is not of the field's type is null.
def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**31:
        return None
    return value


@strawberry.type(description="One execution of a run item: one per attempt and per data row.")
class TestRunResult:
    """GraphQL view of a test run result."""

    __test__ = False  # not a pytest class, despite its name
    id: uuid.UUID = strawberry.field(description="Result id.")
    test_run_id: uuid.UUID = strawberry.field(description="Run it belongs to.")
    test_run_item_id: uuid.UUID = strawberry.field(description="Item it executed.")
    test_case_id: uuid.UUID = strawberry.field(description="Test case it executed.")
    iteration_number: int | None = strawberry.field(
        description="Data row, from 1; null if not data-driven."
    )
    data_row_index: int | None = strawberry.field(description="Row index in the data source.")
    data_row_values: JSON | None = strawberry.field(description="The data row used.")
    status: ResultStatus = strawberry.field(description="PASSED, FAILED or SKIPPED.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: Long = strawberry.field(description="How long it took, in milliseconds.")
    total_steps: int = strawberry.field(description="Steps (from its step rows once it has some).")
    passed_steps: int = strawberry.field(description="Steps that passed.")
    failed_steps: int = strawberry.field(description="Steps that failed.")
    skipped_steps: int = strawberry.field(description="Steps skipped.")
    pass_rate: float = strawberry.field(description="Passed steps in percent, e.g. 93.33.")
    total_checkpoints: int = strawberry.field(description="Checkpoints verified.")
    passed_checkpoints: int = strawberry.field(description="Checkpoints that passed.")
    failed_checkpoints: int = strawberry.field(description="Checkpoints that failed.")
    checkpoint_pass_rate: float = strawberry.field(description="Passed checkpoints in percent.")
    total_pre_scripts: int = strawberry.field(description="Pre-execution scripts run.")
    passed_pre_scripts: int = strawberry.field(description="Pre-execution scripts passed.")
    failed_pre_scripts: int = strawberry.field(description="Pre-execution scripts failed.")
    total_post_scripts: int = strawberry.field(description="Post-execution scripts run.")
    passed_post_scripts: int = strawberry.field(description="Post-execution scripts passed.")
    failed_post_scripts: int = strawberry.field(description="Post-execution scripts failed.")
    total_on_demand_scripts: int = strawberry.field(description="On-demand scripts run.")
    passed_on_demand_scripts: int = strawberry.field(description="On-demand scripts passed.")
    failed_on_demand_scripts: int = strawberry.field(description="On-demand scripts failed.")
    pre_script_aborted: bool = strawberry.field(description="A critical pre-script failed.")
    total_accessibility_violations: int = strawberry.field(description="Accessibility issues.")
    accessibility_results: JSON | None = strawberry.field(description="Per-page a11y results.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    error_step_number: int | None = strawberry.field(description="Step that failed.")
    error_screenshot_path: str | None = strawberry.field(description="Screenshot at failure.")
    video_path: str | None = strawberry.field(
        description="Video of the result (WebM), when the run records video."
    )
    trace_path: str | None = strawberry.field(
        description="Playwright trace (zip) of a failed result, when the run keeps traces."
    )
    initial_url: str | None = strawberry.field(description="URL it started on.")
    final_url: str | None = strawberry.field(description="URL it ended on.")
    results_folder: str | None = strawberry.field(description="Where its artifacts are.")
    report_path: str | None = strawberry.field(description="Its HTML report.")
    retry_attempt: int = strawberry.field(description="Attempt number (0 = first try).")
    racing_stats: JSON | None = strawberry.field(description="Performance measurements.")
    environment_info: JSON | None = strawberry.field(description="Browser, OS and viewport.")
    captured_downloads: JSON | None = strawberry.field(description="Files downloaded.")
    downloads_folder: str | None = strawberry.field(description="Where the downloads are.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.TestRunResult) -> TestRunResult:
        """Build from the ORM row."""
        return from_columns(
            cls,
            row,
            status=graphql_enums.ResultStatus(row.status),
            pass_rate=float(row.pass_rate),
            checkpoint_pass_rate=float(row.checkpoint_pass_rate),
        )

    @strawberry.field(description="The files the page downloaded, each with a signed link.")
    def downloads(self, info: Info) -> list[CapturedDownload]:
        """`captured_downloads` as typed entries."""
        entries: list[Any] = (
            self.captured_downloads if isinstance(self.captured_downloads, list) else []
        )
        return [
            CapturedDownload.of(
                entry, info.context.artifact_url(_text(entry.get("path")), owner=self.id)
            )
            for entry in entries
            if isinstance(entry, dict)
        ]

    @strawberry.field(description="Screenshot at failure: a signed link that expires.")
    def error_screenshot_url(self, info: Info) -> str | None:
        """Signed URL of `error_screenshot_path`."""
        return info.context.artifact_url(self.error_screenshot_path, owner=self.id)

    @strawberry.field(description="Video of the result (WebM): a signed link that expires.")
    def video_url(self, info: Info) -> str | None:
        """Signed URL of `video_path`."""
        return info.context.artifact_url(self.video_path, owner=self.id)

    @strawberry.field(
        description="Playwright trace (zip): a signed link that expires; open it with "
        "`playwright show-trace <url>`."
    )
    def trace_url(self, info: Info) -> str | None:
        """Signed URL of `trace_path`."""
        return info.context.artifact_url(self.trace_path, owner=self.id)

    @strawberry.field(description="Its steps, by step number.")
    async def steps(self, info: Info) -> list[StepResult]:
        """Steps through the request's loader."""
        found = await info.context.loader(steps_.load_steps_by_result).load(self.id)
        return [StepResult.from_model(row) for row in found]

    @strawberry.field(description="Its checkpoints, in the order they were added.")
    async def checkpoints(self, info: Info) -> list[CheckpointResult]:
        """Checkpoints through the request's loader."""
        found = await info.context.loader(checkpoints_.load_checkpoints_by_result).load(self.id)
        return [CheckpointResult.from_model(row) for row in found]

    @strawberry.field(description="Browser console messages, by time.")
    async def console_logs(self, info: Info) -> list[ConsoleLog]:
        """Console logs through the request's loader."""
        found = await info.context.loader(logs_.load_console_logs_by_result).load(self.id)
        return [ConsoleLog.from_model(row) for row in found]

    @strawberry.field(description="Network requests, by time.")
    async def network_logs(self, info: Info) -> list[NetworkLog]:
        """Network logs through the request's loader."""
        found = await info.context.loader(logs_.load_network_logs_by_result).load(self.id)
        return [NetworkLog.from_model(row) for row in found]

    @strawberry.field(description="Script executions, in the order they were added.")
    async def scripts(self, info: Info) -> list[ScriptResult]:
        """Script results through the request's loader."""
        found = await info.context.loader(script_results.load_scripts_by_result).load(self.id)
        return [ScriptResult.from_model(row) for row in found]


# Results read for a query, of the columns it selects (see `Projection`).
RESULT_COLUMNS = Projection(
    TestRunResult,
    rows.TestRunResult,
    keys=("id", "test_run_item_id"),
    needs={
        "downloads": ("captured_downloads",),
        "errorScreenshotUrl": ("error_screenshot_path",),
        "videoUrl": ("video_path",),
        "traceUrl": ("trace_path",),
        "steps": (),
        "checkpoints": (),
        "consoleLogs": (),
        "networkLogs": (),
        "scripts": (),
    },
    convert={
        "status": by_value(graphql_enums.ResultStatus),
        "pass_rate": float,
        "checkpoint_pass_rate": float,
    },
)


@strawberry.type(description="A run's totals: tests by outcome, steps and checkpoints.")
class TestRunSummaryBlock:
    """The `summary` block of a run summary."""

    __test__ = False
    total_tests: int = strawberry.field(description="Items in the run.")
    passed_tests: int = strawberry.field(description="Items passed.")
    failed_tests: int = strawberry.field(description="Items failed.")
    skipped_tests: int = strawberry.field(description="Items skipped.")
    no_run_tests: int = strawberry.field(description="Items without proven steps.")
    pass_rate: float = strawberry.field(description="Passed items in percent, e.g. 66.67.")
    total_steps: int = strawberry.field(description="Steps over all items.")
    passed_steps: int = strawberry.field(description="Steps passed over all items.")
    failed_steps: int = strawberry.field(description="Steps failed over all items.")
    skipped_steps: int = strawberry.field(description="Steps skipped over all items.")
    total_checkpoints: int = strawberry.field(description="Checkpoints over all items.")
    passed_checkpoints: int = strawberry.field(description="Checkpoints passed.")
    failed_checkpoints: int = strawberry.field(description="Checkpoints failed.")


@strawberry.type(description="One item of a run summary.")
class TestRunSummaryItem:
    """An item line of a run summary."""

    __test__ = False
    id: uuid.UUID = strawberry.field(description="Item id.")
    test_case_id: uuid.UUID = strawberry.field(description="Its test case.")
    test_case_name: str = strawberry.field(description="Its test case's name.")
    status: ItemStatus = strawberry.field(description="Where the item is.")
    duration_ms: Long = strawberry.field(description="Execution time in milliseconds.")
    pass_rate: float = strawberry.field(description="Its latest result's pass rate, percent.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    is_data_driven: bool = strawberry.field(description="Replayed once per data row.")
    total_iterations: int = strawberry.field(description="Data rows replayed (the Y of X/Y).")
    passed_iterations: int = strawberry.field(description="Data rows passed (the X of X/Y).")
    failed_iterations: int = strawberry.field(description="Data rows failed.")
    retry_attempt: int = strawberry.field(description="Attempt that decided it.")


@strawberry.type(description="A run with its totals and per-item outcome (the spec's summary).")
class TestRunSummary:
    """GraphQL view of a run summary."""

    __test__ = False
    id: uuid.UUID = strawberry.field(description="Run id.")
    run_name: str = strawberry.field(description="Run name.")
    status: RunStatus = strawberry.field(description="Where the run is.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: Long = strawberry.field(description="From start to end, in milliseconds.")
    summary: TestRunSummaryBlock = strawberry.field(description="Totals.")
    items: list[TestRunSummaryItem] = strawberry.field(description="Items in execution order.")

    @classmethod
    def from_summary(cls, found: history_.RunSummary) -> TestRunSummary:
        """Build from the resolver's summary."""
        run = found.run
        counts = {name: getattr(run, name) for name in _RUN_COUNTS}
        block = from_columns(TestRunSummaryBlock, found, pass_rate=float(run.pass_rate), **counts)
        return cls(
            id=run.id,
            run_name=run.run_name,
            status=graphql_enums.RunStatus(run.status),
            started_at=run.started_at,
            completed_at=run.completed_at,
            duration_ms=Long(run.duration_ms),
            summary=block,
            items=[
                from_columns(
                    TestRunSummaryItem,
                    entry.item,
                    test_case_name=entry.test_case_name,
                    status=graphql_enums.ItemStatus(entry.item.status),
                    pass_rate=float(entry.pass_rate),
                )
                for entry in found.items
            ],
        )


_RUN_COUNTS = ("total_tests", "passed_tests", "failed_tests", "skipped_tests", "no_run_tests")


@strawberry.type(description="One execution of a test case, as its history lists it.")
class TestCaseHistoryEntry:
    """GraphQL view of a test execution history line."""

    __test__ = False
    id: uuid.UUID = strawberry.field(description="History line id.")
    test_run_id: uuid.UUID | None = strawberry.field(description="Run; null once deleted.")
    test_run_result_id: uuid.UUID | None = strawberry.field(description="Result, if kept.")
    run_name: str | None = strawberry.field(description="Name of the run.")
    status: ResultStatus = strawberry.field(description="How it went.")
    executed_at: datetime = strawberry.field(description="When it ran.")
    duration_ms: Long = strawberry.field(description="How long it took, in milliseconds.")
    total_steps: int = strawberry.field(description="Steps.")
    passed_steps: int = strawberry.field(description="Steps passed.")
    failed_steps: int = strawberry.field(description="Steps failed.")
    pass_rate: float = strawberry.field(description="Passed steps in percent.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    is_scheduled: bool = strawberry.field(description="Whether a schedule started its run.")

    @classmethod
    def from_model(cls, row: rows.TestExecutionHistory) -> TestCaseHistoryEntry:
        """Build from the ORM row."""
        return from_columns(
            cls,
            row,
            status=graphql_enums.ResultStatus(row.status),
            pass_rate=float(row.pass_rate),
        )


@strawberry.type(description="How all executions of a test case went.")
class TestCaseHistoryStatistics:
    """Statistics of a test case's history."""

    __test__ = False
    total_executions: int = strawberry.field(description="Executions in all.")
    passed: int = strawberry.field(description="Executions passed.")
    failed: int = strawberry.field(description="Executions failed.")
    skipped: int = strawberry.field(description="Executions skipped.")
    overall_pass_rate: float = strawberry.field(description="Passed executions in percent.")
    avg_duration_ms: Long = strawberry.field(description="Mean duration in milliseconds.")
    flake_rate: float = strawberry.field(
        description="Outcome flips between consecutive executions of the last "
        "TESTRUN_FLAKY_WINDOW (20) passed or failed ones, in percent of those possible."
    )
    is_flaky: bool = strawberry.field(
        description="Flipped at least twice in that window, or passed only on a retry."
    )


@strawberry.type(description="A test case's latest executions and their statistics.")
class TestCaseHistory:
    """GraphQL view of a test case's execution history."""

    __test__ = False
    test_case_id: uuid.UUID = strawberry.field(description="The test case.")
    test_case_name: str = strawberry.field(description="Its name.")
    history: list[TestCaseHistoryEntry] = strawberry.field(description="Newest first.")
    total: int = strawberry.field(description="Executions in all (beyond the limit too).")
    statistics: TestCaseHistoryStatistics = strawberry.field(description="Over all of them.")

    @classmethod
    def from_history(cls, found: history_.TestCaseHistory) -> TestCaseHistory:
        """Build from the resolver's history."""
        statistics = found.statistics
        return cls(
            test_case_id=found.test_case.id,
            test_case_name=found.test_case.name,
            history=[TestCaseHistoryEntry.from_model(row) for row in found.entries],
            total=found.total,
            statistics=from_columns(
                TestCaseHistoryStatistics,
                statistics,
                overall_pass_rate=float(statistics.overall_pass_rate),
                flake_rate=float(statistics.flakiness.flake_rate),
                is_flaky=statistics.flakiness.is_flaky,
            ),
        )


@strawberry.type
class ResultQuery:
    """Result fields of the Query root."""

    @strawberry.field(description="One result of the project, with its steps, logs and scripts.")
    async def test_run_result(self, info: Info, id: uuid.UUID) -> TestRunResult:
        """Read a result."""
        async with info.context.session() as session:
            row = await results.read_test_run_result(
                session, principal=info.context.principal, result_id=id
            )
        return TestRunResult.from_model(row)

    @strawberry.field(description="A run's totals and per-item outcome (the spec's summary).")
    async def test_run_summary(self, info: Info, id: uuid.UUID) -> TestRunSummary:
        """Read a run summary."""
        async with info.context.session() as session:
            found = await history_.read_test_run_summary(
                session, principal=info.context.principal, run_id=id
            )
        return TestRunSummary.from_summary(found)

    @strawberry.field(description="A test case's latest executions (newest first) and statistics.")
    async def test_case_history(
        self, info: Info, test_case_id: uuid.UUID, limit: int = 10
    ) -> TestCaseHistory:
        """Read a test case's history."""
        async with info.context.session() as session:
            found = await history_.read_test_case_history(
                session,
                principal=info.context.principal,
                test_case_id=test_case_id,
                limit=limit,
                flaky_window=info.context.flaky_window,
            )
        return TestCaseHistory.from_history(found)


@strawberry.type
class ResultMutation:
    """Result submission fields of the Mutation root (runs executed by a client)."""

    @strawberry.mutation(
        description="Record a result of a running client-executed run; updates its item and "
        "run statistics and completes the run with its last item."
    )
    async def submit_test_run_result(self, info: Info, input: TestRunResultInput) -> TestRunResult:
        """Submit a result."""
        data = parse(results.ResultSubmission, input_data(input))
        async with info.context.transaction() as session:
            row = await results.submit_test_run_result(
                session, principal=info.context.principal, data=data
            )
        return TestRunResult.from_model(row)

    @strawberry.mutation(description="Add 1 to 5000 steps to a result; its step counts follow.")
    async def add_step_results(
        self, info: Info, result_id: uuid.UUID, steps: list[StepResultInput]
    ) -> TestRunResult:
        """Add step results in bulk."""
        batch = parse(steps_.StepResultBatch, {"steps": bulk_data(steps)})
        async with info.context.transaction() as session:
            row = await steps_.add_step_results(
                session, principal=info.context.principal, result_id=result_id, steps=batch.steps
            )
        return TestRunResult.from_model(row)

    @strawberry.mutation(description="Add 1 to 5000 checkpoints to a result; its counts follow.")
    async def add_checkpoint_results(
        self, info: Info, result_id: uuid.UUID, checkpoints: list[CheckpointResultInput]
    ) -> TestRunResult:
        """Add checkpoint results in bulk."""
        batch = parse(
            checkpoints_.CheckpointResultBatch,
            {"checkpoints": bulk_data(checkpoints)},
        )
        async with info.context.transaction() as session:
            row = await checkpoints_.add_checkpoint_results(
                session,
                principal=info.context.principal,
                result_id=result_id,
                checkpoints=batch.checkpoints,
            )
        return TestRunResult.from_model(row)

    @strawberry.mutation(description="Add 1 to 5000 browser console messages to a result.")
    async def add_console_logs(
        self, info: Info, result_id: uuid.UUID, logs: list[ConsoleLogInput]
    ) -> TestRunResult:
        """Add console logs in bulk."""
        batch = parse(logs_.ConsoleLogBatch, {"logs": bulk_data(logs)})
        async with info.context.transaction() as session:
            row = await logs_.add_console_logs(
                session, principal=info.context.principal, result_id=result_id, logs=batch.logs
            )
        return TestRunResult.from_model(row)

    @strawberry.mutation(description="Add 1 to 5000 network requests to a result.")
    async def add_network_logs(
        self, info: Info, result_id: uuid.UUID, logs: list[NetworkLogInput]
    ) -> TestRunResult:
        """Add network logs in bulk."""
        batch = parse(logs_.NetworkLogBatch, {"logs": bulk_data(logs)})
        async with info.context.transaction() as session:
            row = await logs_.add_network_logs(
                session, principal=info.context.principal, result_id=result_id, logs=batch.logs
            )
        return TestRunResult.from_model(row)

    @strawberry.mutation(
        description="Record a script execution of a result; a failed critical pre-execution "
        "script marks the result preScriptAborted."
    )
    async def add_script_result(
        self, info: Info, result_id: uuid.UUID, input: ScriptResultInput
    ) -> TestRunResult:
        """Add a script result."""
        data = parse(script_results.ScriptResultInput, input_data(input))
        async with info.context.transaction() as session:
            row = await script_results.add_script_result(
                session, principal=info.context.principal, result_id=result_id, data=data
            )
        return TestRunResult.from_model(row)
