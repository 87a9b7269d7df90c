"""Which test cases are flaky, from their execution history.

Definitions (README "Flaky test cases"):
- The window is a test case's last N executions (`TESTRUN_FLAKY_WINDOW`, default 20) that
  passed or failed, newest first; skipped ones are no outcome and are left out. Every attempt
  counts: a retry is an execution of its own.
- A flip is two consecutive executions of the window with different outcomes.
- The flake rate is flips / (n - 1) for n executions in the window, as a percentage with two
  decimals (P F P F: 3 flips of 3 possible, 100.00); 0.00 with fewer than two executions.
- A test case is flaky when its outcome flipped at least twice in the window (it broke and
  recovered, or recovered and broke again), or when an execution in the window passed only on
  a retry. One flip is a change, not flakiness: a test that broke (P P F F) or was fixed
  (F F P P) is not flaky.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ResultStatus
from models.results import TestExecutionHistory, TestRunResult
from models.test_cases import TestCase
from resolvers import stats

DEFAULT_FLAKY_WINDOW = 20
MAX_FLAKY_WINDOW = 1000
FLAKY_FLIPS = 2


@dataclass(frozen=True, slots=True)
class Flakiness:
    """How a test case's outcome behaved over its recent executions."""

    executions: int
    flips: int
    passed_on_retry: bool
    flake_rate: Decimal
    is_flaky: bool

    @classmethod
    def of(cls, executions: int, flips: int, passed_on_retry: bool) -> Flakiness:
        """The flake rate and verdict of counted executions (see the module's definitions)."""
        return cls(
            executions=executions,
            flips=flips,
            passed_on_retry=passed_on_retry,
            flake_rate=stats.pass_rate(flips, executions - 1),
            is_flaky=flips >= FLAKY_FLIPS or passed_on_retry,
        )


NEVER_RUN = Flakiness.of(0, 0, False)


def _window_statement(window: int, *where: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    """Per test case: executions in the window, flips, and whether one passed on a retry."""
    ordered = (
        select(
            TestExecutionHistory.test_case_id,
            TestExecutionHistory.status,
            TestRunResult.retry_attempt,
            func.row_number()
            .over(
                partition_by=TestExecutionHistory.test_case_id,
                order_by=(
                    TestExecutionHistory.executed_at.desc(),
                    TestExecutionHistory.created_at.desc(),
                    TestExecutionHistory.id,
                ),
            )
            .label("recency"),
        )
        .outerjoin(TestRunResult, TestRunResult.id == TestExecutionHistory.test_run_result_id)
        .where(TestExecutionHistory.status.in_([ResultStatus.PASSED, ResultStatus.FAILED]), *where)
        .subquery()
    )
    recent = select(
        ordered.c.test_case_id,
        ordered.c.status,
        ordered.c.retry_attempt,
        func.lag(ordered.c.status)
        .over(partition_by=ordered.c.test_case_id, order_by=ordered.c.recency)
        .label("newer"),
    ).where(ordered.c.recency <= window)
    windowed = recent.subquery()
    return select(
        windowed.c.test_case_id,
        func.count().label("executions"),
        func.count().filter(windowed.c.newer != windowed.c.status).label("flips"),
        func.coalesce(
            func.bool_or(
                and_(windowed.c.status == ResultStatus.PASSED, windowed.c.retry_attempt > 0)
            ),
            False,
        ).label("passed_on_retry"),
    ).group_by(windowed.c.test_case_id)


async def load_flakiness(
    session: AsyncSession, test_case_ids: Sequence[uuid.UUID], *, window: int
) -> list[Flakiness]:
    """Each test case's flakiness over its last `window` executions, in the order asked."""
    if not test_case_ids:
        return []
    rows = await session.execute(
        _window_statement(window, TestExecutionHistory.test_case_id.in_(set(test_case_ids)))
    )
    found = {
        row.test_case_id: Flakiness.of(row.executions, row.flips, row.passed_on_retry)
        for row in rows
    }
    return [found.get(test_case_id, NEVER_RUN) for test_case_id in test_case_ids]


def flaky_test_case_ids(project_id: uuid.UUID, *, window: int) -> Select[tuple[uuid.UUID]]:
    """The ids of the project's flaky test cases, for `test_case.id IN (...)` filters."""
    of_project = select(TestCase.id).where(TestCase.project_id == project_id)
    counted = _window_statement(
        window, TestExecutionHistory.test_case_id.in_(of_project.scalar_subquery())
    ).subquery()
    return select(counted.c.test_case_id).where(
        or_(counted.c.flips >= FLAKY_FLIPS, counted.c.passed_on_retry)
    )
