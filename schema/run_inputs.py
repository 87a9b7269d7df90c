"""GraphQL inputs and enums of test runs: what a run is created, changed, started, listed with."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import enums
from resolvers import run_inputs

TestRunSortField = strawberry.enum(
    run_inputs.RunSortField,
    name="TestRunSortField",
    description="What runs are sorted by: CREATED_AT, STARTED_AT or PASS_RATE.",
)
SortOrder = strawberry.enum(
    run_inputs.SortOrder, name="SortOrder", description="ASC (smallest first) or DESC."
)


@strawberry.input(description="Browser, operating system and viewport a run starts in.")
class StartTestRunInput:
    """Environment of startTestRun; fields left out keep the run's configuration."""

    __test__ = False  # not a pytest class, despite its name
    browser_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="chromium, firefox or webkit."
    )
    browser_version: str | None = strawberry.field(
        default=strawberry.UNSET, description="Browser version (at most 50 characters)."
    )
    os_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Operating system (at most 100 characters)."
    )
    os_version: str | None = strawberry.field(
        default=strawberry.UNSET, description="Operating system version (at most 50)."
    )
    viewport_width: int | None = strawberry.field(
        default=strawberry.UNSET, description="Viewport width in pixels (> 0)."
    )
    viewport_height: int | None = strawberry.field(
        default=strawberry.UNSET, description="Viewport height in pixels (> 0)."
    )


@strawberry.input(description="A change of a run: only the fields given change.")
class TestRunUpdateInput(StartTestRunInput):
    """Input of updateTestRun: name, tags and notes any time, the rest while pending."""

    __test__ = False
    run_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name (1 to 255 characters)."
    )
    suite_path: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Folder path, e.g. [ROOT, Regression, Smoke]."
    )
    suite_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name of the innermost folder."
    )
    parallel_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether items execute in parallel."
    )
    parallel_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="Items executing at once when parallel (1-10)."
    )
    retry_on_failure: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether failed items are retried."
    )
    retry_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="Retries of a failed item (0-10)."
    )
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Labels.")
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="Free notes.")
    scheduled_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="When it is planned to run (with an offset)."
    )
    executor: enums.Executor | None = strawberry.field(
        default=strawberry.UNSET, description="Who executes it (default SERVER)."
    )
    screenshot_every_step: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Keep a screenshot after every step, not only the failing one.",
    )
    record_video: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Record a video of every result (WebM)."
    )
    keep_trace_on_failure: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Keep a Playwright trace (`playwright show-trace`) of failed results.",
    )
    step_delay_ms: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Pause between steps in milliseconds (0-60000, default 0), for slow pages.",
    )
    priority: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Higher is served first when items wait for a slot under the global cap "
        "on running items (-1000 to 1000, default 0); may change while the run waits.",
    )


@strawberry.input(description="A new run; `testCaseIds` become its items in that order.")
class TestRunInput(TestRunUpdateInput):
    """Input of createTestRun."""

    __test__ = False
    run_name: str = strawberry.field(description="Name (1 to 255 characters).")
    test_case_ids: list[uuid.UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Test cases to add at once (at most 1000)."
    )


@strawberry.input(description="Which runs to list; every condition given must hold.")
class TestRunFilter:
    """Filter of testRuns."""

    __test__ = False
    status: list[enums.RunStatus] | None = strawberry.field(
        default=strawberry.UNSET, description="Runs in any of these statuses."
    )
    suite_path: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Runs in this folder or below it."
    )
    from_date: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Created on or after: a date (2026-01-31, from 00:00 UTC) or a date-time "
        "with an offset.",
    )
    to_date: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Created on or before: a date (2026-01-31, the whole UTC day) or a "
        "date-time with an offset.",
    )
    created_by: uuid.UUID | None = strawberry.field(
        default=strawberry.UNSET, description="Runs created by this user."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Runs carrying all of these tags."
    )
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text the run name contains (any case)."
    )


@strawberry.input(description="Order of a run list; ties are broken by id.")
class TestRunSort:
    """Sort of testRuns."""

    __test__ = False
    field: run_inputs.RunSortField = strawberry.field(
        default=run_inputs.RunSortField.CREATED_AT, description="What to sort by."
    )
    order: run_inputs.SortOrder = strawberry.field(
        default=run_inputs.SortOrder.DESC,
        description="Direction; runs without the value (never started) come last.",
    )
