"""Inputs of test runs: what a run is created, changed, started and listed with."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    StringConstraints,
    field_validator,
)

from models.enums import Executor, RunStatus
from resolvers.validation import (
    Input,
    Name,
    PageInput,
    Pixels,
    SuitePath,
    Tags,
    Text,
    Timestamp,
    Varchar50,
    Varchar100,
    Varchar255,
    not_null,
)

# Runs are filled with at most this many test cases per call.
MAX_ITEMS_PER_CALL = 1_000


def _between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"Must be between {low} and {high}")
        return value

    return AfterValidator(check)


Browser = Literal["chromium", "firefox", "webkit"]
ParallelCount = Annotated[int, _between(1, 10)]
RetryCount = Annotated[int, _between(0, 10)]
StepDelay = Annotated[int, _between(0, 60_000)]
Priority = Annotated[int, _between(-1000, 1000)]


class RunEnvironment(Input):
    """Browser, operating system and viewport a run executes in."""

    browser_name: Browser | None = None
    browser_version: Varchar50 | None = None
    os_name: Varchar100 | None = None
    os_version: Varchar50 | None = None
    viewport_width: Pixels | None = None
    viewport_height: Pixels | None = None


class StartOptions(RunEnvironment):
    """The environment a run starts in; what is left out keeps the run's configuration."""


class TestRunUpdate(RunEnvironment):
    """A change of a run: only the fields given change (explicit null clears optional ones)."""

    __test__ = False  # not a pytest class, despite its name
    run_name: Name | None = None
    suite_path: SuitePath | None = None
    suite_name: Varchar255 | None = None
    parallel_enabled: bool | None = None
    parallel_count: ParallelCount | None = None
    retry_on_failure: bool | None = None
    retry_count: RetryCount | None = None
    tags: Tags | None = None
    notes: Text | None = None
    scheduled_at: Timestamp | None = None
    executor: Executor | None = None
    screenshot_every_step: bool | None = None
    record_video: bool | None = None
    keep_trace_on_failure: bool | None = None
    step_delay_ms: StepDelay | None = None
    priority: Priority | None = None

    _not_null = field_validator(
        "run_name",
        "parallel_enabled",
        "parallel_count",
        "retry_on_failure",
        "retry_count",
        "executor",
        "screenshot_every_step",
        "record_video",
        "keep_trace_on_failure",
        "step_delay_ms",
        "priority",
        mode="before",
    )(not_null)


class TestRunCreate(TestRunUpdate):
    """A new run: a name is required; `test_case_ids` become its items in that order."""

    __test__ = False
    run_name: Name
    test_case_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_ITEMS_PER_CALL)] | None = None


DATE_BOUND = "Must be a date (2026-01-31) or a date-time with an offset (2026-01-31T10:00:00Z)"


def _date_bound(value: object) -> date | datetime:
    parsed: date | datetime
    if isinstance(value, date):  # datetimes too
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = (
                date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
            )
        except ValueError:
            raise ValueError(DATE_BOUND) from None
    else:
        raise ValueError(DATE_BOUND)
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        raise ValueError(DATE_BOUND)
    return parsed


DateBound = Annotated[
    date | datetime, PlainValidator(_date_bound, json_schema_input_type=date | datetime)
]


class RunSortField(StrEnum):
    """What a list of runs is sorted by."""

    CREATED_AT = "created_at"
    STARTED_AT = "started_at"
    PASS_RATE = "pass_rate"


class SortOrder(StrEnum):
    """Ascending or descending."""

    ASC = "asc"
    DESC = "desc"


class TestRunFilter(PageInput):
    """Which runs to list (every condition given must hold) and in what order.

    Dates are whole UTC days: `to_date` 2026-01-31 includes all of that day.
    """

    __test__ = False
    status: Annotated[list[RunStatus], Field(max_length=len(RunStatus))] | None = None
    suite_path: SuitePath | None = None
    from_date: DateBound | None = None
    to_date: DateBound | None = None
    created_by: uuid.UUID | None = None
    tags: Tags | None = None
    search: Varchar255 | None = None
    sort_by: RunSortField = RunSortField.CREATED_AT
    sort_order: SortOrder = SortOrder.DESC


ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class RunExecution(Input):
    """runs-execute.md's request: start run `run_id` of tenant `tenant_id`.

    Ids are strings there (Firestore's); a run id that is no UUID names no run.
    """

    run_id: ExternalId
    tenant_id: ExternalId
