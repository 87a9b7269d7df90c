"""Item and run statistics: the rules, and saving what they give.

The rules (pass rates, when a run item is final, a run's counts) are pure functions over
rows already read, tested without a database and the same for every writer. The `save_*`
and `refresh_*` functions read the rows, apply the rules and write the outcome with
conditional UPDATEs. Statistics are always recomputed from all the rows, never
incremented, so they are right in any order; callers hold the run's row lock.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, bindparam, case, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.database import update_row
from models.enums import (
    FINAL_ITEM_STATUSES,
    CheckpointStatus,
    ItemStatus,
    ResultStatus,
    RunStatus,
    StepStatus,
)
from models.results import CheckpointResult, TestExecutionHistory, TestRunResult, TestStepResult
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase
from resolvers.errors import InvalidState, NotFound
from resolvers.events import append_run_event

_CENT = Decimal("0.01")


def pass_rate(passed: int, total: int) -> Decimal:
    """`passed / total` as a percentage with 2 decimals (66.67); 0.00 when there is nothing."""
    if total <= 0:
        return Decimal("0.00")
    return (Decimal(passed) * 100 / Decimal(total)).quantize(_CENT, rounding=ROUND_HALF_UP)


def as_rate(value: float) -> Decimal:
    """A submitted percentage as stored: DECIMAL(5,2)."""
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def duration_ms(started_at: datetime | None, completed_at: datetime | None) -> int:
    """Milliseconds from `started_at` to `completed_at`; 0 when either is unknown or reversed."""
    if started_at is None or completed_at is None:
        return 0
    return max(0, round((completed_at - started_at).total_seconds() * 1000))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A run's retry settings: a failed attempt is retried up to `retry_count` times."""

    retry_on_failure: bool
    retry_count: int

    @property
    def max_attempt(self) -> int:
        """The highest `retry_attempt` a result may have (0 = first try)."""
        return self.retry_count if self.retry_on_failure else 0

    def allows_retry_after(self, attempt: int) -> bool:
        """Whether a failed `attempt` is followed by another."""
        return attempt < self.max_attempt


@dataclass(frozen=True, slots=True)
class ItemRollup:
    """A run item's status and statistics as its results determine them."""

    status: ItemStatus
    final: bool
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int
    total_steps: int
    passed_steps: int
    failed_steps: int
    skipped_steps: int
    total_checkpoints: int
    passed_checkpoints: int
    failed_checkpoints: int
    is_data_driven: bool
    total_iterations: int
    passed_iterations: int
    failed_iterations: int
    retry_attempt: int
    max_retries_exhausted: bool
    error_message: str | None
    error_screenshot_path: str | None


class Attempt(Protocol):
    """What tells which results count: a result, or a row of its columns."""

    @property
    def retry_attempt(self) -> int:
        """0 for the first attempt, then one more per retry."""

    @property
    def iteration_number(self) -> int | None:
        """The data row (from 1), or None for a test case without data rows."""


AttemptT = TypeVar("AttemptT", bound=Attempt)


def latest_attempt(results: Sequence[AttemptT]) -> list[AttemptT]:
    """The results that count for the item: its latest attempt, one per data row.

    `results` are in submission order; when a data row (or a non-data-driven attempt)
    has several results, the last one submitted counts.
    """
    attempt = max(result.retry_attempt for result in results)
    current = [result for result in results if result.retry_attempt == attempt]
    if all(result.iteration_number is None for result in current):
        return current[-1:]
    by_iteration = {result.iteration_number: result for result in current}
    return [by_iteration[number] for number in sorted(n for n in by_iteration if n is not None)]


def _outcome(counted: Sequence[TestRunResult]) -> ResultStatus:
    statuses = {result.status for result in counted}
    if ResultStatus.FAILED in statuses:
        return ResultStatus.FAILED
    if ResultStatus.PASSED in statuses:
        return ResultStatus.PASSED
    return ResultStatus.SKIPPED


def roll_up_item(
    results: Sequence[TestRunResult], *, policy: RetryPolicy, data_row_count: int
) -> ItemRollup:
    """The item as its `results` (all attempts, in submission order, at least one) leave it.

    Final when its latest attempt is complete and not retried: a non-data-driven attempt
    is complete with its one result; a data-driven one when it has a result for each of
    the test case's `data_row_count` rows (with no rows known, on its first result). A
    complete attempt that passed or was skipped is final; a failed one is final when
    the policy allows no further attempt. Until final, the item is RUNNING.
    """
    if not results:
        raise ValueError("an item rollup needs at least one result")
    counted = latest_attempt(results)
    attempt = counted[0].retry_attempt
    data_driven = counted[0].iteration_number is not None
    complete = not data_driven or data_row_count <= 0 or len(counted) >= data_row_count
    outcome = _outcome(counted)
    failed = outcome is ResultStatus.FAILED
    final = complete and not (failed and policy.allows_retry_after(attempt))
    failures = [result for result in counted if result.status == ResultStatus.FAILED]
    first_failure = failures[0] if failures else None
    starts = [result.started_at for result in results if result.started_at is not None]
    ends = [result.completed_at for result in counted if result.completed_at is not None]
    return ItemRollup(
        status=ItemStatus(outcome.value) if final else ItemStatus.RUNNING,
        final=final,
        started_at=min(starts, default=None),
        completed_at=max(ends, default=None) if final else None,
        duration_ms=sum(result.duration_ms for result in counted),
        total_steps=sum(result.total_steps for result in counted),
        passed_steps=sum(result.passed_steps for result in counted),
        failed_steps=sum(result.failed_steps for result in counted),
        skipped_steps=sum(result.skipped_steps for result in counted),
        total_checkpoints=sum(result.total_checkpoints for result in counted),
        passed_checkpoints=sum(result.passed_checkpoints for result in counted),
        failed_checkpoints=sum(result.failed_checkpoints for result in counted),
        is_data_driven=data_driven,
        total_iterations=len(counted) if data_driven else 0,
        passed_iterations=sum(r.status == ResultStatus.PASSED for r in counted)
        if data_driven
        else 0,
        failed_iterations=len(failures) if data_driven else 0,
        retry_attempt=attempt,
        max_retries_exhausted=final and failed and policy.retry_on_failure,
        error_message=first_failure.error_message if first_failure else None,
        error_screenshot_path=first_failure.error_screenshot_path if first_failure else None,
    )


@dataclass(frozen=True, slots=True)
class RunRollup:
    """A run's counts by item status and its pass rate; `complete` when every item is final."""

    total_tests: int
    passed_tests: int
    failed_tests: int
    skipped_tests: int
    no_run_tests: int
    final_tests: int
    pass_rate: Decimal

    @property
    def complete(self) -> bool:
        """Every item (and there is at least one) is passed, failed, skipped or no_run."""
        return self.total_tests > 0 and self.final_tests == self.total_tests

    def columns(self) -> dict[str, Any]:
        """The `test_runs` columns these statistics fill."""
        return {
            "total_tests": self.total_tests,
            "passed_tests": self.passed_tests,
            "failed_tests": self.failed_tests,
            "skipped_tests": self.skipped_tests,
            "no_run_tests": self.no_run_tests,
            "pass_rate": self.pass_rate,
        }


def roll_up_run(items_by_status: Mapping[str, int]) -> RunRollup:
    """The run's statistics from how many of its items are in each status."""
    total = sum(items_by_status.values())
    passed = items_by_status.get(ItemStatus.PASSED, 0)
    return RunRollup(
        total_tests=total,
        passed_tests=passed,
        failed_tests=items_by_status.get(ItemStatus.FAILED, 0),
        skipped_tests=items_by_status.get(ItemStatus.SKIPPED, 0),
        no_run_tests=items_by_status.get(ItemStatus.NO_RUN, 0),
        final_tests=sum(
            count for status, count in items_by_status.items() if status in FINAL_ITEM_STATUSES
        ),
        pass_rate=pass_rate(passed, total),
    )


# --- saving -------------------------------------------------------------------------------

# data_rows may hold a JSON null or a non-array; only an array has rows.
_DATA_ROW_COUNT = case(
    (func.jsonb_typeof(TestCase.data_rows) == "array", func.jsonb_array_length(TestCase.data_rows)),
    else_=0,
)


async def read_item(
    session: AsyncSession, run: TestRun, item_id: uuid.UUID
) -> tuple[TestRunItem, int]:
    """An item of `run` and how many data rows its test case has (NotFound if not the run's)."""
    row = (
        await session.execute(
            select(TestRunItem, _DATA_ROW_COUNT)
            .join(TestCase, TestCase.id == TestRunItem.test_case_id)
            .where(TestRunItem.id == item_id, TestRunItem.test_run_id == run.id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if row is None:
        raise NotFound.of("Test run item", item_id)
    item, data_row_count = row
    return item, int(data_row_count)


async def item_results(session: AsyncSession, item_id: uuid.UUID) -> list[TestRunResult]:
    """All results of an item in submission order."""
    rows = await session.scalars(
        select(TestRunResult)
        .where(TestRunResult.test_run_item_id == item_id)
        .order_by(TestRunResult.created_at, TestRunResult.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def save_item(
    session: AsyncSession, run: TestRun, item: TestRunItem, rollup: ItemRollup, now: datetime
) -> None:
    """Write the item's new status and statistics, unless it is already final."""
    values = dataclasses.asdict(rollup)
    del values["final"]
    values |= {
        "status": rollup.status.value,
        "started_at": item.started_at or rollup.started_at or now,
        "completed_at": (rollup.completed_at or now) if rollup.final else None,
    }
    saved = await session.scalar(
        update(TestRunItem)
        .where(TestRunItem.id == item.id, TestRunItem.status.not_in(FINAL_ITEM_STATUSES))
        .values(values)
        .returning(TestRunItem.id)
    )
    if saved is None:  # only a writer that ignores the run lock could have finished it
        raise InvalidState(f"Cannot submit results: test run item {item.id} is already final")
    await append_run_event(
        session, run_id=run.id, type="item.updated", payload=event_payload(item.id, values)
    )


_ITEM_TOTALS = (
    "total_steps",
    "passed_steps",
    "failed_steps",
    "skipped_steps",
    "total_checkpoints",
    "passed_checkpoints",
    "failed_checkpoints",
)


# Only the columns the totals need, as plain rows: a step's record makes no result objects.
_ITEM_RESULT_TOTALS = (
    select(
        TestRunResult.retry_attempt,
        TestRunResult.iteration_number,
        *(getattr(TestRunResult, name) for name in _ITEM_TOTALS),
    )
    .where(TestRunResult.test_run_item_id == bindparam("item_id"))
    .order_by(TestRunResult.created_at, TestRunResult.id)
)


async def save_item_totals(session: AsyncSession, run: TestRun, item_id: uuid.UUID) -> None:
    """Recompute an item's step and checkpoint totals after its results' counts changed.

    Only totals (over the results that count, as for `roll_up_item`): details never change
    an item's status, so this also runs on final items.
    """
    rows = (await session.execute(_ITEM_RESULT_TOTALS, {"item_id": item_id})).all()
    counted = latest_attempt(rows)
    values = {name: sum(getattr(row, name) for row in counted) for name in _ITEM_TOTALS}
    await update_row(session, TestRunItem, item_id, values)
    await append_run_event(
        session, run_id=run.id, type="item.updated", payload=event_payload(item_id, values)
    )


async def refresh_run(session: AsyncSession, run: TestRun, now: datetime) -> RunRollup:
    """Recompute the run's counts from its items; complete it when every item is final."""
    rows = (
        await session.execute(
            select(
                TestRunItem.status,
                func.count(),
                func.min(TestRunItem.started_at),
                func.max(TestRunItem.completed_at),
            )
            .where(TestRunItem.test_run_id == run.id)
            .group_by(TestRunItem.status)
        )
    ).all()
    rollup = roll_up_run({row[0]: row[1] for row in rows})
    values: dict[str, Any] = rollup.columns() | {"current_item_index": rollup.final_tests}
    if rollup.complete:
        # The run ends when its last test case ended, as the executor reports it.
        started_at = run.started_at or min((r[2] for r in rows if r[2]), default=now)
        completed_at = max((r[3] for r in rows if r[3]), default=now)
        values |= {
            "status": RunStatus.COMPLETED.value,
            "completed_at": max(completed_at, started_at),
            "duration_ms": duration_ms(started_at, completed_at),
        }
    saved = await session.scalar(
        update(TestRun)
        .where(TestRun.id == run.id, TestRun.status == RunStatus.RUNNING)
        .values(values)
        .returning(TestRun.id)
    )
    if saved is None:  # only a writer that ignores the run lock could have ended it
        raise InvalidState(f"Cannot submit results: test run {run.id} is no longer running")
    await append_run_event(
        session,
        run_id=run.id,
        type="run.completed" if rollup.complete else "run.updated",
        payload=event_payload(run.id, values),
    )
    return rollup


def event_payload(id_: uuid.UUID, values: dict[str, Any]) -> dict[str, Any]:
    """`values` as JSON for an event payload (ids and timestamps as strings, rates as numbers)."""
    payload: dict[str, Any] = {"id": str(id_)}
    for name, value in values.items():
        if isinstance(value, datetime):
            payload[name] = value.isoformat()
        elif isinstance(value, (uuid.UUID, str)) or value is None:
            payload[name] = None if value is None else str(value)
        elif isinstance(value, (bool, int)):
            payload[name] = value
        else:
            payload[name] = float(value)
    return payload


_HISTORY_COLUMNS = ("total_steps", "passed_steps", "failed_steps", "pass_rate")


_STEP_COUNTS = (StepStatus.PASSED, StepStatus.FAILED, StepStatus.SKIPPED)
_CHECKPOINT_COUNTS = (CheckpointStatus.PASSED, CheckpointStatus.FAILED)


@functools.cache
def _counting(*, steps: bool, checkpoints: bool) -> Select[Any]:
    """`recount_result`'s SELECT of a result's step and/or checkpoint counts, built once."""
    counts: list[Any] = []
    if steps:
        counts.append(
            select(
                func.count(),
                *(func.count().filter(TestStepResult.status == status) for status in _STEP_COUNTS),
            )
            .where(TestStepResult.test_run_result_id == bindparam("result_id"))
            .subquery()
        )
    if checkpoints:
        counts.append(
            select(
                func.count(),
                *(
                    func.count().filter(CheckpointResult.status == status)
                    for status in _CHECKPOINT_COUNTS
                ),
            )
            .where(CheckpointResult.test_run_result_id == bindparam("result_id"))
            .subquery()
        )
    counted = select(*counts)
    if len(counts) == 2:  # one row each: joined side by side
        counted = counted.select_from(counts[0].join(counts[1], true()))
    return counted


async def recount_result(
    session: AsyncSession,
    run: TestRun,
    result: TestRunResult,
    *,
    steps: bool = False,
    checkpoints: bool = False,
    planned_steps: int = 0,
    executing: bool = False,
) -> None:
    """Count the result's step and/or checkpoint rows (one SELECT) and save the counts.

    `planned_steps`, the steps the engine will play, keeps the total from shrinking to the
    steps recorded so far. `executing`: see `save_result_counts`.
    """
    if not (steps or checkpoints):
        return
    counted = _counting(steps=steps, checkpoints=checkpoints)
    found = list((await session.execute(counted, {"result_id": result.id})).one())
    values: dict[str, Any] = {}
    if steps:
        recorded, passed, failed, skipped, *found = found
        total = max(recorded, planned_steps)
        values |= {
            "total_steps": total,
            "passed_steps": passed,
            "failed_steps": failed,
            "skipped_steps": skipped,
            "pass_rate": pass_rate(passed, total),
        }
    if checkpoints:
        total, passed, failed = found
        values |= {
            "total_checkpoints": total,
            "passed_checkpoints": passed,
            "failed_checkpoints": failed,
            "checkpoint_pass_rate": pass_rate(passed, total),
        }
    await save_result_counts(session, run, result, values, executing=executing)


async def save_result_counts(
    session: AsyncSession,
    run: TestRun,
    result: TestRunResult,
    values: dict[str, Any],
    *,
    executing: bool = False,
) -> None:
    """Write a result's recomputed counts, its history line's copy, and its item's totals.

    `executing`: the engine is still executing the result, which has no history line
    until it ends (`results.record_result_outcome`): there is none to update.
    """
    await update_row(session, TestRunResult, result.id, values)
    copied = {name: values[name] for name in _HISTORY_COLUMNS if name in values}
    if copied and not executing:
        await session.execute(
            update(TestExecutionHistory)
            .where(TestExecutionHistory.test_run_result_id == result.id)
            .values(copied)
        )
    await append_run_event(
        session, run_id=run.id, type="result.updated", payload=event_payload(result.id, values)
    )
    if any(name.endswith(("_steps", "_checkpoints")) for name in values):
        await save_item_totals(session, run, result.test_run_item_id)
