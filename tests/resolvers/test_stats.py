"""The statistics rules: pass rates, when an item is final, a run's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.enums import ItemStatus
from models.results import TestRunResult
from resolvers.stats import (
    RetryPolicy,
    duration_ms,
    latest_attempt,
    pass_rate,
    roll_up_item,
    roll_up_run,
)

START = datetime(2026, 1, 17, 10, 5, tzinfo=UTC)
NO_RETRY = RetryPolicy(retry_on_failure=False, retry_count=0)
ONE_RETRY = RetryPolicy(retry_on_failure=True, retry_count=1)


def result(status: str = "passed", **overrides: Any) -> TestRunResult:
    values: dict[str, Any] = {
        "status": status,
        "retry_attempt": 0,
        "iteration_number": None,
        "started_at": START,
        "completed_at": START + timedelta(seconds=10),
        "duration_ms": 10_000,
        "total_steps": 5,
        "passed_steps": 5 if status == "passed" else 4,
        "failed_steps": 0 if status == "passed" else 1,
        "skipped_steps": 0,
        "total_checkpoints": 2,
        "passed_checkpoints": 2,
        "failed_checkpoints": 0,
        "error_message": None if status == "passed" else f"{status} here",
        "error_screenshot_path": None,
    }
    return TestRunResult(**(values | overrides))


@pytest.mark.parametrize(
    ("passed", "total", "expected"),
    [
        (2, 3, "66.67"),
        (1, 3, "33.33"),
        (0, 0, "0.00"),
        (3, 3, "100.00"),
        (1, 8, "12.50"),
        (1, 200, "0.50"),
        (1, 400, "0.25"),
        (1, 800, "0.13"),  # 0.125 rounds half up
    ],
)
def test_pass_rate_has_two_decimals(passed: int, total: int, expected: str) -> None:
    assert pass_rate(passed, total) == Decimal(expected)


def test_duration_is_never_negative_and_needs_both_ends() -> None:
    assert duration_ms(START, START + timedelta(minutes=10, seconds=30)) == 630_000
    assert duration_ms(START, START - timedelta(seconds=1)) == 0
    assert duration_ms(None, START) == 0


def test_a_passed_result_makes_the_item_final() -> None:
    rollup = roll_up_item([result()], policy=NO_RETRY, data_row_count=0)

    assert rollup.status is ItemStatus.PASSED
    assert rollup.final
    assert (rollup.total_steps, rollup.passed_steps, rollup.total_checkpoints) == (5, 5, 2)
    assert rollup.completed_at == START + timedelta(seconds=10)
    assert rollup.error_message is None
    assert not rollup.max_retries_exhausted


def test_a_failed_result_without_retries_is_final_and_keeps_its_error() -> None:
    rollup = roll_up_item([result("failed")], policy=NO_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final) == (ItemStatus.FAILED, True)
    assert rollup.error_message == "failed here"
    assert not rollup.max_retries_exhausted  # no retry was allowed, so none was exhausted


def test_a_failed_attempt_with_a_retry_left_keeps_the_item_running() -> None:
    rollup = roll_up_item([result("failed")], policy=ONE_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final) == (ItemStatus.RUNNING, False)
    assert rollup.completed_at is None
    assert rollup.error_message == "failed here"


def test_the_latest_attempt_decides() -> None:
    attempts = [result("failed"), result("passed", retry_attempt=1)]

    rollup = roll_up_item(attempts, policy=ONE_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final, rollup.retry_attempt) == (ItemStatus.PASSED, True, 1)
    assert rollup.error_message is None
    assert rollup.duration_ms == 10_000  # the deciding attempt's, not the sum of attempts


def test_the_last_retry_failing_exhausts_the_retries() -> None:
    attempts = [result("failed"), result("failed", retry_attempt=1)]

    rollup = roll_up_item(attempts, policy=ONE_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final, rollup.max_retries_exhausted) == (
        ItemStatus.FAILED,
        True,
        True,
    )


def test_a_skipped_result_is_final() -> None:
    rollup = roll_up_item([result("skipped")], policy=ONE_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final) == (ItemStatus.SKIPPED, True)


def test_data_driven_items_are_final_when_every_row_has_a_result() -> None:
    rows = [result("passed", iteration_number=1), result("failed", iteration_number=2)]

    partial = roll_up_item(rows, policy=NO_RETRY, data_row_count=3)
    complete = roll_up_item(
        [*rows, result("passed", iteration_number=3)], policy=NO_RETRY, data_row_count=3
    )

    assert (partial.status, partial.final) == (ItemStatus.RUNNING, False)
    assert (partial.total_iterations, partial.passed_iterations) == (2, 1)
    assert (complete.status, complete.final) == (ItemStatus.FAILED, True)
    assert complete.is_data_driven
    iterations = (complete.total_iterations, complete.passed_iterations)
    assert (*iterations, complete.failed_iterations) == (3, 2, 1)
    assert complete.total_steps == 15
    assert complete.duration_ms == 30_000


def test_data_driven_without_known_rows_is_final_on_its_first_result() -> None:
    rollup = roll_up_item([result(iteration_number=1)], policy=NO_RETRY, data_row_count=0)

    assert (rollup.status, rollup.final, rollup.total_iterations) == (ItemStatus.PASSED, True, 1)


def test_a_data_driven_retry_counts_only_its_own_rows() -> None:
    first = [result("failed", iteration_number=1), result("passed", iteration_number=2)]
    retry = [result("passed", iteration_number=1, retry_attempt=1)]

    rollup = roll_up_item([*first, *retry], policy=ONE_RETRY, data_row_count=2)

    assert (rollup.status, rollup.final, rollup.total_iterations) == (ItemStatus.RUNNING, False, 1)
    assert [r.iteration_number for r in latest_attempt([*first, *retry])] == [1]


def test_the_last_result_of_a_row_counts() -> None:
    rows = [result("failed", iteration_number=1), result("passed", iteration_number=1)]

    assert [r.status for r in latest_attempt(rows)] == ["passed"]


def test_an_item_needs_a_result() -> None:
    with pytest.raises(ValueError, match="at least one result"):
        roll_up_item([], policy=NO_RETRY, data_row_count=0)


def test_run_counts_and_completion() -> None:
    running = roll_up_run({"passed": 1, "failed": 1, "running": 1})
    done = roll_up_run({"passed": 2, "failed": 1})
    mixed = roll_up_run({"passed": 1, "skipped": 1, "no_run": 1, "queued": 1})

    assert (running.total_tests, running.final_tests, running.complete) == (3, 2, False)
    assert running.pass_rate == Decimal("33.33")
    assert (done.passed_tests, done.failed_tests, done.pass_rate) == (2, 1, Decimal("66.67"))
    assert done.complete
    assert (mixed.skipped_tests, mixed.no_run_tests, mixed.complete) == (1, 1, False)
    assert not roll_up_run({}).complete
