"""How late schedules fire: two in-process schedulers against real PostgreSQL.

Schedules fall due at staggered instants over a few seconds; each firing records
`executed_at` (when a scheduler took the occurrence, just before creating its run), so
`executed_at - scheduled_for` is how late it fired. The floor is how
late the event loop wakes from a sleep timed to the same instants. Prints p50/p99/max of
both and checks that every occurrence fired once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from bench._stack import bench_caller, databases, percentile
from execution.dispatch import QueueDispatcher
from execution.scheduler import firing, run_scheduler
from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from models.schedules import Schedule, ScheduleExecution
from models.test_cases import TestCase

SCHEDULES = 40
SPREAD_S = 4.0
LEAD_S = 1.5


async def seed(database_url: str, first: datetime) -> list[datetime]:
    """SCHEDULES hourly schedules due at staggered instants from `first`."""
    engine = create_engine(database_url, pool_size=1)
    due = [first + timedelta(seconds=SPREAD_S * n / SCHEDULES) for n in range(SCHEDULES)]
    async with transaction(create_session_factory(engine)) as session:
        user, project, _ = await bench_caller(session, Role.EDITOR)
        case = TestCase(project_id=project.id, name="Case", proven_steps=[])
        session.add(case)
        await session.flush()
        for number, at in enumerate(due):
            session.add(
                Schedule(
                    project_id=project.id,
                    created_by=user.id,
                    schedule_name=f"Schedule {number}",
                    test_case_ids=[case.id],
                    scheduled_datetime=at,
                    repeat_type="hourly",
                    next_execution_at=at,
                )
            )
    await engine.dispose()
    return due


async def fire(database_url: str) -> list[float]:
    """Run two schedulers until every schedule fired; each firing's lateness in ms."""
    first = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    await seed(database_url, first)
    engines = [create_engine(database_url, pool_size=2) for _ in range(2)]
    dispatcher = QueueDispatcher(StubBroker())
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            run_scheduler(create_session_factory(engine), stop=stop, jobs=[firing(dispatcher)])
        )
        for engine in engines
    ]
    await asyncio.sleep(LEAD_S + SPREAD_S + 1.5)
    stop.set()
    await asyncio.gather(*tasks)
    async with create_session_factory(engines[0])() as session:
        rows = (
            await session.execute(
                select(ScheduleExecution.scheduled_for, ScheduleExecution.executed_at)
            )
        ).all()
    for engine in engines:
        await engine.dispose()
    if len(rows) != SCHEDULES:
        raise RuntimeError(f"{len(rows)} executions for {SCHEDULES} occurrences")
    return [(executed - due).total_seconds() * 1000 for due, executed in rows if executed]


async def floor() -> list[float]:
    """How late asyncio wakes from sleeps aimed at the same kind of instants, in ms."""
    late = []
    first = datetime.now(UTC) + timedelta(seconds=0.2)
    for n in range(SCHEDULES):
        target = first + timedelta(seconds=SPREAD_S * n / SCHEDULES)
        await asyncio.sleep(max(0.0, (target - datetime.now(UTC)).total_seconds()))
        late.append((datetime.now(UTC) - target).total_seconds() * 1000)
    return late


def main() -> None:
    """Run the benchmark and print its figures."""
    with databases() as (database_url, _):
        lateness = asyncio.run(fire(database_url))
    raw = asyncio.run(floor())
    print(f"{SCHEDULES} schedules due over {SPREAD_S:.0f} s, two schedulers, each fired once")
    for name, values in (("fired after due", lateness), ("sleep floor", raw)):
        print(
            f"  {name:16} p50 {percentile(values, 50):7.1f} ms   "
            f"p99 {percentile(values, 99):7.1f} ms   max {max(values):7.1f} ms"
        )
    ratio = percentile(lateness, 50) / max(percentile(raw, 50), 0.001)
    print(f"  p50 ratio to the floor: {ratio:.1f}x (the goal: every firing within 1000 ms)")
