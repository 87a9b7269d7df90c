"""What a client executor records: the inputs it submits, and the types of a result's details.

A result's details are its steps, checkpoints, scripts, console and network logs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import results as rows
from models.enums import (
    CheckpointStatus,
    CheckpointType,
    LogLevel,
    ResultStatus,
    ScriptLanguage,
    ScriptType,
)
from schema import enums as graphql_enums
from schema.context import Info
from schema.conversion import bulk_input, from_columns
from schema.scalars import JSON, Long


@strawberry.type(description="How one step of a result went.")
class StepResult:
    """GraphQL view of a step result."""

    id: uuid.UUID = strawberry.field(description="Step result id.")
    test_run_result_id: uuid.UUID = strawberry.field(description="Result it belongs to.")
    step_number: int = strawberry.field(description="Position in the test case, from 1.")
    action: str = strawberry.field(description="What the step did: navigate_to, click_element...")
    description: str | None = strawberry.field(description="The step in words.")
    status: ResultStatus = strawberry.field(description="PASSED, FAILED or SKIPPED.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: Long = strawberry.field(description="How long it took, in milliseconds.")
    selector: str | None = strawberry.field(description="Selector of the element it acted on.")
    element_html: str | None = strawberry.field(description="The element's HTML, on failure.")
    input_value: str | None = strawberry.field(description="Text it typed, for input steps.")
    screenshot_path: str | None = strawberry.field(description="Screenshot file.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    error_stack_trace: str | None = strawberry.field(description="Stack trace of the failure.")
    playwright_code: str | None = strawberry.field(description="Playwright code of the step.")
    window_id: str | None = strawberry.field(description="Browser window it ran in.")
    window_title: str | None = strawberry.field(description="Title of that window.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    # The URL an outside executor stored (its cloud storage), answered as it is.
    stored_screenshot_url: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, row: rows.TestStepResult) -> StepResult:
        """Build from the ORM row."""
        return from_columns(
            cls,
            row,
            status=graphql_enums.ResultStatus(row.status),
            stored_screenshot_url=row.screenshot_url,
        )

    @strawberry.field(
        description="The screenshot: the executor's own URL when it gave one, else a signed "
        "link to the stored file that opens without a token and expires."
    )
    def screenshot_url(self, info: Info) -> str | None:
        """The stored URL, or the signed one of `screenshot_path`."""
        return self.stored_screenshot_url or info.context.artifact_url(
            self.screenshot_path, owner=self.test_run_result_id
        )


@strawberry.type(description="The outcome of one verification of a result.")
class CheckpointResult:
    """GraphQL view of a checkpoint result."""

    id: uuid.UUID = strawberry.field(description="Checkpoint result id.")
    test_run_result_id: uuid.UUID = strawberry.field(description="Result it belongs to.")
    test_step_result_id: uuid.UUID | None = strawberry.field(description="Step it verified.")
    checkpoint_name: str = strawberry.field(description="Name of the checkpoint.")
    checkpoint_type: CheckpointType = strawberry.field(description="What it verifies.")
    status: CheckpointStatus = strawberry.field(description="PASSED or FAILED.")
    selector: str | None = strawberry.field(description="Selector of the element checked.")
    profile: str | None = strawberry.field(description="functional, visual, accessibility...")
    expected_properties: JSON | None = strawberry.field(description="Properties expected.")
    actual_properties: JSON | None = strawberry.field(description="Properties found.")
    failed_properties: list[str] | None = strawberry.field(description="Properties that failed.")
    property_verifications: JSON | None = strawberry.field(
        description="Per property: [{property_name, expected_value, actual_value, passed}]."
    )
    screenshot_index: int | None = strawberry.field(description="Screenshot it compared.")
    baseline_screenshot_path: str | None = strawberry.field(description="Expected image.")
    actual_screenshot_path: str | None = strawberry.field(description="Image taken.")
    diff_screenshot_path: str | None = strawberry.field(description="Difference image.")
    diff_percentage: float | None = strawberry.field(description="Pixels differing, percent.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.CheckpointResult) -> CheckpointResult:
        """Build from the ORM row."""
        diff = row.diff_percentage
        return from_columns(
            cls,
            row,
            checkpoint_type=graphql_enums.CheckpointType(row.checkpoint_type),
            status=graphql_enums.CheckpointStatus(row.status),
            diff_percentage=None if diff is None else float(diff),
        )

    @strawberry.field(description="The expected image: a signed link that expires.")
    def baseline_screenshot_url(self, info: Info) -> str | None:
        """Signed URL of `baseline_screenshot_path`."""
        return info.context.artifact_url(
            self.baseline_screenshot_path, owner=self.test_run_result_id
        )

    @strawberry.field(description="The image taken: a signed link that expires.")
    def actual_screenshot_url(self, info: Info) -> str | None:
        """Signed URL of `actual_screenshot_path`."""
        return info.context.artifact_url(self.actual_screenshot_path, owner=self.test_run_result_id)

    @strawberry.field(description="The visual difference: a signed link that expires.")
    def diff_screenshot_url(self, info: Info) -> str | None:
        """Signed URL of `diff_screenshot_path`."""
        return info.context.artifact_url(self.diff_screenshot_path, owner=self.test_run_result_id)


@strawberry.type(description="What a pre, post or on-demand script did during a result.")
class ScriptResult:
    """GraphQL view of a script result."""

    id: uuid.UUID = strawberry.field(description="Script result id.")
    test_run_result_id: uuid.UUID = strawberry.field(description="Result it belongs to.")
    test_script_id: uuid.UUID | None = strawberry.field(description="Script run, if still there.")
    script_name: str = strawberry.field(description="Name of the script.")
    script_type: ScriptType = strawberry.field(description="When it ran.")
    script_language: ScriptLanguage | None = strawberry.field(description="Its language.")
    status: ResultStatus = strawberry.field(description="PASSED, FAILED or SKIPPED.")
    exit_code: int | None = strawberry.field(description="Process exit code.")
    duration_ms: Long = strawberry.field(description="How long it ran, in milliseconds.")
    stdout: str | None = strawberry.field(description="Captured standard output.")
    stderr: str | None = strawberry.field(description="Captured standard error.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    is_critical: bool = strawberry.field(description="Whether its failure aborts the test.")
    attached_to_step: int | None = strawberry.field(description="Step it ran at (on demand).")
    executed_at: datetime | None = strawberry.field(description="When it ran.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.ScriptResult) -> ScriptResult:
        """Build from the ORM row."""
        language = row.script_language
        return from_columns(
            cls,
            row,
            script_type=graphql_enums.ScriptType(row.script_type),
            script_language=None if language is None else graphql_enums.ScriptLanguage(language),
            status=graphql_enums.ResultStatus(row.status),
        )


@strawberry.type(description="A browser console message captured during a result.")
class ConsoleLog:
    """GraphQL view of a console log."""

    id: uuid.UUID = strawberry.field(description="Log id.")
    test_run_result_id: uuid.UUID = strawberry.field(description="Result it was captured in.")
    log_level: LogLevel = strawberry.field(description="LOG, INFO, WARN, ERROR or DEBUG.")
    message: str = strawberry.field(description="The message text.")
    source: str | None = strawberry.field(description="JavaScript file it came from.")
    line_number: int | None = strawberry.field(description="Line in the source.")
    column_number: int | None = strawberry.field(description="Column in the source.")
    stack_trace: str | None = strawberry.field(description="Stack trace, for errors.")
    step_index: int | None = strawberry.field(description="Step it happened during.")
    timestamp: datetime = strawberry.field(description="When the browser logged it.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.ConsoleLog) -> ConsoleLog:
        """Build from the ORM row."""
        return from_columns(cls, row, log_level=graphql_enums.LogLevel(row.log_level))


@strawberry.type(description="A network request the page made during a result.")
class NetworkLog:
    """GraphQL view of a network log."""

    id: uuid.UUID = strawberry.field(description="Log id.")
    test_run_result_id: uuid.UUID = strawberry.field(description="Result it was captured in.")
    url: str = strawberry.field(description="Requested URL.")
    method: str = strawberry.field(description="HTTP method: GET, POST...")
    status_code: int | None = strawberry.field(description="Response status; null if none came.")
    status_text: str | None = strawberry.field(description="Response status text.")
    request_headers: JSON | None = strawberry.field(description="Request headers.")
    response_headers: JSON | None = strawberry.field(description="Response headers.")
    request_body_preview: str | None = strawberry.field(description="Start of the request body.")
    response_body_preview: str | None = strawberry.field(description="Start of the response body.")
    content_type: str | None = strawberry.field(description="Response content type.")
    content_length: Long | None = strawberry.field(description="Response size in bytes.")
    resource_type: str | None = strawberry.field(description="document, script, image, xhr...")
    timestamp: datetime = strawberry.field(description="When the request started.")
    duration_ms: Long | None = strawberry.field(description="Until the response ended, in ms.")
    ttfb_ms: Long | None = strawberry.field(description="Time to first byte, in ms.")
    error_message: str | None = strawberry.field(description="Why the request failed, if it did.")
    step_index: int | None = strawberry.field(description="Step it happened during.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, row: rows.NetworkLog) -> NetworkLog:
        """Build from the ORM row."""
        return from_columns(cls, row)


@bulk_input
@strawberry.input(description="A console message to record.")
class ConsoleLogInput:
    """Input of addConsoleLogs."""

    log_level: LogLevel = strawberry.field(description="Level of the message.")
    message: str = strawberry.field(description="The message text.")
    timestamp: datetime = strawberry.field(description="When the browser logged it (with zone).")
    source: str | None = strawberry.field(default=None, description="File it came from.")
    line_number: int | None = strawberry.field(default=None, description="Line in the source.")
    column_number: int | None = strawberry.field(default=None, description="Column in it.")
    stack_trace: str | None = strawberry.field(default=None, description="Stack, for errors.")
    step_index: int | None = strawberry.field(default=None, description="Step it happened in.")


@bulk_input
@strawberry.input(description="A network request to record.")
class NetworkLogInput:
    """Input of addNetworkLogs."""

    url: str = strawberry.field(description="Requested URL (at most 2000 characters).")
    method: str = strawberry.field(description="HTTP method (at most 10 characters).")
    timestamp: datetime = strawberry.field(description="When the request started (with zone).")
    status_code: int | None = strawberry.field(default=None, description="Response status.")
    status_text: str | None = strawberry.field(default=None, description="Status text.")
    request_headers: JSON | None = strawberry.field(default=None, description="Headers sent.")
    response_headers: JSON | None = strawberry.field(default=None, description="Headers back.")
    request_body_preview: str | None = strawberry.field(default=None, description="Body sent.")
    response_body_preview: str | None = strawberry.field(default=None, description="Body back.")
    content_type: str | None = strawberry.field(default=None, description="Content type.")
    content_length: int | None = strawberry.field(default=None, description="Size in bytes.")
    resource_type: str | None = strawberry.field(default=None, description="document, xhr...")
    duration_ms: int | None = strawberry.field(default=None, description="Total time in ms.")
    ttfb_ms: int | None = strawberry.field(default=None, description="Time to first byte.")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
    step_index: int | None = strawberry.field(default=None, description="Step it happened in.")


@bulk_input
@strawberry.input(description="A step of a result to record.")
class StepResultInput:
    """Input of addStepResults."""

    step_number: int = strawberry.field(description="Position in the test case, from 1.")
    action: str = strawberry.field(description="What the step did (at most 100 characters).")
    status: ResultStatus = strawberry.field(description="How it went.")
    description: str | None = strawberry.field(default=None, description="The step in words.")
    started_at: datetime | None = strawberry.field(default=None, description="Start (with zone).")
    completed_at: datetime | None = strawberry.field(default=None, description="End, not before.")
    duration_ms: int | None = strawberry.field(
        default=None, description="Milliseconds; left out, taken from the timestamps."
    )
    selector: str | None = strawberry.field(default=None, description="Element selector.")
    element_html: str | None = strawberry.field(default=None, description="Element HTML.")
    input_value: str | None = strawberry.field(default=None, description="Text typed.")
    screenshot_path: str | None = strawberry.field(default=None, description="Screenshot file.")
    screenshot_url: str | None = strawberry.field(default=None, description="Screenshot URL.")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
    error_stack_trace: str | None = strawberry.field(default=None, description="Its stack.")
    playwright_code: str | None = strawberry.field(default=None, description="Playwright code.")
    window_id: str | None = strawberry.field(default=None, description="Browser window.")
    window_title: str | None = strawberry.field(default=None, description="Window title.")


@bulk_input
@strawberry.input(description="A verification of a result to record.")
class CheckpointResultInput:
    """Input of addCheckpointResults."""

    checkpoint_name: str = strawberry.field(description="Name (at most 255 characters).")
    checkpoint_type: CheckpointType = strawberry.field(description="What it verifies.")
    status: CheckpointStatus = strawberry.field(description="How it went.")
    test_step_result_id: uuid.UUID | None = strawberry.field(
        default=None, description="Step of the same result it verified."
    )
    selector: str | None = strawberry.field(default=None, description="Element selector.")
    profile: str | None = strawberry.field(default=None, description="functional, visual...")
    expected_properties: JSON | None = strawberry.field(default=None, description="Expected.")
    actual_properties: JSON | None = strawberry.field(default=None, description="Found.")
    failed_properties: list[str] | None = strawberry.field(default=None, description="Failed.")
    property_verifications: JSON | None = strawberry.field(
        default=None, description="[{property_name, expected_value, actual_value, passed}]."
    )
    screenshot_index: int | None = strawberry.field(default=None, description="Screenshot.")
    baseline_screenshot_path: str | None = strawberry.field(default=None, description="Expected.")
    actual_screenshot_path: str | None = strawberry.field(default=None, description="Taken.")
    diff_screenshot_path: str | None = strawberry.field(default=None, description="Difference.")
    diff_percentage: float | None = strawberry.field(default=None, description="0 to 100.")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")


@strawberry.input(description="A script execution of a result to record.")
class ScriptResultInput:
    """Input of addScriptResult."""

    script_name: str = strawberry.field(description="Name (at most 255 characters).")
    script_type: ScriptType = strawberry.field(description="When it ran.")
    status: ResultStatus = strawberry.field(description="How it went.")
    test_script_id: uuid.UUID | None = strawberry.field(
        default=None, description="The project's test script it ran."
    )
    script_language: ScriptLanguage | None = strawberry.field(
        default=None, description="Its language."
    )
    exit_code: int | None = strawberry.field(default=None, description="Process exit code.")
    duration_ms: int = strawberry.field(default=0, description="How long it ran, in ms.")
    stdout: str | None = strawberry.field(default=None, description="Standard output.")
    stderr: str | None = strawberry.field(default=None, description="Standard error.")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
    is_critical: bool = strawberry.field(
        default=False, description="Whether a failure aborts the test (pre-execution scripts)."
    )
    attached_to_step: int | None = strawberry.field(default=None, description="Step it ran at.")
    executed_at: datetime | None = strawberry.field(default=None, description="When it ran.")


@strawberry.input(
    description="A result of a client-executed run: one attempt, or one data row of it. "
    "Totals left out are the sum of their parts; rates and duration are derived."
)
class TestRunResultInput:
    """Input of submitTestRunResult."""

    __test__ = False
    test_run_id: uuid.UUID = strawberry.field(description="Running client run.")
    test_run_item_id: uuid.UUID = strawberry.field(description="Item of that run it executed.")
    test_case_id: uuid.UUID = strawberry.field(description="The item's test case.")
    status: ResultStatus = strawberry.field(description="How it went.")
    started_at: datetime | None = strawberry.field(default=None, description="Start (with zone).")
    completed_at: datetime | None = strawberry.field(default=None, description="End, not before.")
    duration_ms: int | None = strawberry.field(default=None, description="Milliseconds.")
    passed_steps: int = strawberry.field(default=0, description="Steps that passed.")
    failed_steps: int = strawberry.field(default=0, description="Steps that failed.")
    skipped_steps: int = strawberry.field(default=0, description="Steps skipped.")
    total_steps: int | None = strawberry.field(default=None, description="All steps.")
    pass_rate: float | None = strawberry.field(default=None, description="0 to 100.")
    passed_checkpoints: int = strawberry.field(default=0, description="Checkpoints passed.")
    failed_checkpoints: int = strawberry.field(default=0, description="Checkpoints failed.")
    total_checkpoints: int | None = strawberry.field(default=None, description="All checkpoints.")
    checkpoint_pass_rate: float | None = strawberry.field(default=None, description="0 to 100.")
    iteration_number: int | None = strawberry.field(
        default=None, description="Data row number from 1, for data-driven test cases."
    )
    data_row_index: int | None = strawberry.field(default=None, description="Source row index.")
    data_row_values: JSON | None = strawberry.field(default=None, description="The row used.")
    retry_attempt: int = strawberry.field(default=0, description="0 = first try, then 1, 2...")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
    error_step_number: int | None = strawberry.field(default=None, description="Failing step.")
    error_screenshot_path: str | None = strawberry.field(default=None, description="Screenshot.")
    initial_url: str | None = strawberry.field(default=None, description="Start URL.")
    final_url: str | None = strawberry.field(default=None, description="End URL.")
    environment_info: JSON | None = strawberry.field(default=None, description="Browser, OS...")
    total_accessibility_violations: int = strawberry.field(default=0, description="A11y issues.")
    accessibility_results: JSON | None = strawberry.field(default=None, description="A11y data.")
    racing_stats: JSON | None = strawberry.field(default=None, description="Performance data.")
    captured_downloads: JSON | None = strawberry.field(default=None, description="Downloads.")
    downloads_folder: str | None = strawberry.field(default=None, description="Their folder.")
    results_folder: str | None = strawberry.field(default=None, description="Artifacts folder.")
    report_path: str | None = strawberry.field(default=None, description="HTML report.")
