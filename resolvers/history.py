"""What recorded executions add up to: a run's summary and a test case's history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ResultStatus
from models.results import TestExecutionHistory, TestRunResult
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase
from resolvers import stats
from resolvers.errors import NotFound, ValidationFailed
from resolvers.flakiness import DEFAULT_FLAKY_WINDOW, Flakiness, load_flakiness
from resolvers.tokens import Principal

MAX_HISTORY = 100


@dataclass(frozen=True, slots=True)
class RunSummaryItem:
    """One item of a run summary: the item, its test case's name and its pass rate."""

    item: TestRunItem
    test_case_name: str
    pass_rate: Decimal


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run with its step and checkpoint totals summed over its items."""

    run: TestRun
    items: list[RunSummaryItem]
    total_steps: int
    passed_steps: int
    failed_steps: int
    skipped_steps: int
    total_checkpoints: int
    passed_checkpoints: int
    failed_checkpoints: int


async def read_test_run_summary(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> RunSummary:
    """The spec's "Get Test Run Summary", in two statements whatever the number of items.

    An item's pass rate is its latest result's; a data-driven item's (whose latest result
    is one data row) and an item without results' come from the item's step totals.
    """
    run = await session.scalar(
        select(TestRun).where(TestRun.id == run_id, TestRun.project_id == principal.project_id)
    )
    if run is None:
        raise NotFound.of("Test run", run_id)
    latest = (
        select(TestRunResult.test_run_item_id, TestRunResult.pass_rate)
        .where(TestRunResult.test_run_id == run.id)
        .ext(distinct_on(TestRunResult.test_run_item_id))
        .order_by(
            TestRunResult.test_run_item_id,
            TestRunResult.retry_attempt.desc(),
            TestRunResult.created_at.desc(),
            TestRunResult.id,
        )
        .subquery()
    )
    rows = (
        await session.execute(
            select(TestRunItem, TestCase.name, latest.c.pass_rate)
            .join(TestCase, TestCase.id == TestRunItem.test_case_id)
            .outerjoin(latest, latest.c.test_run_item_id == TestRunItem.id)
            .where(TestRunItem.test_run_id == run.id)
            .order_by(TestRunItem.execution_order, TestRunItem.id)
        )
    ).all()
    items = [
        RunSummaryItem(
            item=item,
            test_case_name=name,
            pass_rate=rate
            if rate is not None and not item.is_data_driven
            else stats.pass_rate(item.passed_steps, item.total_steps),
        )
        for item, name, rate in rows
    ]
    plain = [entry.item for entry in items]
    return RunSummary(
        run=run,
        items=items,
        total_steps=sum(item.total_steps for item in plain),
        passed_steps=sum(item.passed_steps for item in plain),
        failed_steps=sum(item.failed_steps for item in plain),
        skipped_steps=sum(item.skipped_steps for item in plain),
        total_checkpoints=sum(item.total_checkpoints for item in plain),
        passed_checkpoints=sum(item.passed_checkpoints for item in plain),
        failed_checkpoints=sum(item.failed_checkpoints for item in plain),
    )


@dataclass(frozen=True, slots=True)
class HistoryStatistics:
    """How all executions of a test case went."""

    total_executions: int
    passed: int
    failed: int
    skipped: int
    overall_pass_rate: Decimal
    avg_duration_ms: int
    flakiness: Flakiness


@dataclass(frozen=True, slots=True)
class TestCaseHistory:
    """The latest executions of a test case, how many there are, and their statistics."""

    __test__ = False  # not a pytest class, despite its name
    test_case: TestCase
    entries: list[TestExecutionHistory]
    total: int
    statistics: HistoryStatistics


async def read_test_case_history(
    session: AsyncSession,
    *,
    principal: Principal,
    test_case_id: uuid.UUID,
    limit: int = 10,
    flaky_window: int = DEFAULT_FLAKY_WINDOW,
) -> TestCaseHistory:
    """The spec's "Get Execution History for Test Case": newest first, at most `limit` (1-100).

    A deleted test case keeps its history: deletion is soft so that it stays readable. The
    statistics cover all executions; the flakiness, the last `flaky_window`.
    """
    if not 1 <= limit <= MAX_HISTORY:
        raise ValidationFailed.of("limit", f"Must be between 1 and {MAX_HISTORY}")
    test_case = await session.scalar(
        select(TestCase).where(
            TestCase.id == test_case_id, TestCase.project_id == principal.project_id
        )
    )
    if test_case is None:
        raise NotFound.of("Test case", test_case_id)
    of_case = TestExecutionHistory.test_case_id == test_case.id
    entries = await session.scalars(
        select(TestExecutionHistory)
        .where(of_case)
        .order_by(
            TestExecutionHistory.executed_at.desc(),
            TestExecutionHistory.created_at.desc(),
            TestExecutionHistory.id,
        )
        .limit(limit)
    )
    counted = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(TestExecutionHistory.status == ResultStatus.PASSED),
                func.count().filter(TestExecutionHistory.status == ResultStatus.FAILED),
                func.count().filter(TestExecutionHistory.status == ResultStatus.SKIPPED),
                func.coalesce(func.avg(TestExecutionHistory.duration_ms), 0),
            ).where(of_case)
        )
    ).one()
    total, passed, failed, skipped, average = counted
    (flakiness,) = await load_flakiness(session, [test_case.id], window=flaky_window)
    return TestCaseHistory(
        test_case=test_case,
        entries=list(entries),
        total=total,
        statistics=HistoryStatistics(
            total_executions=total,
            passed=passed,
            failed=failed,
            skipped=skipped,
            overall_pass_rate=stats.pass_rate(passed, total),
            avg_duration_ms=int(Decimal(average).to_integral_value(ROUND_HALF_UP)),
            flakiness=flakiness,
        ),
    )
