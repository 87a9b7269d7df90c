"""Counts of the whole service read from PostgreSQL, for `/metrics`: runs, items, step timings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ItemStatus, RunStatus
from models.results import TestStepResult
from models.runs import TestRun, TestRunItem

# Upper bounds (ms) of the step duration histogram's buckets.
STEP_BUCKETS_MS = (50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000)


@dataclass(frozen=True, slots=True)
class StepDurations:
    """Every stored step's duration as a cumulative histogram (counts at or under each bound)."""

    at_most: tuple[int, ...]  # one count per STEP_BUCKETS_MS bound
    count: int
    sum_ms: int


@dataclass(frozen=True, slots=True)
class ServiceCounts:
    """Runs and items by status (every status, zero included) and step durations."""

    runs: dict[str, int]
    items: dict[str, int]
    steps: StepDurations


async def read_service_counts(session: AsyncSession) -> ServiceCounts:
    """What every process has done, as stored now; three aggregate queries."""
    runs = dict.fromkeys((status.value for status in RunStatus), 0)
    for status, count in await session.execute(
        select(TestRun.status, func.count()).group_by(TestRun.status)
    ):
        runs[str(status)] = count
    items = dict.fromkeys((status.value for status in ItemStatus), 0)
    for status, count in await session.execute(
        select(TestRunItem.status, func.count()).group_by(TestRunItem.status)
    ):
        items[str(status)] = count
    duration = TestStepResult.duration_ms
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(duration), 0),
                *(func.count().filter(duration <= bound) for bound in STEP_BUCKETS_MS),
            )
        )
    ).one()
    count, total, *at_most = row
    return ServiceCounts(
        runs=runs,
        items=items,
        steps=StepDurations(at_most=tuple(at_most), count=count, sum_ms=int(total)),
    )
