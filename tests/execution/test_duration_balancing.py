"""Parallel items start longest-expected-first, so a run ends close to the earliest it can."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from dramatiq.brokers.stub import StubBroker

from execution.engine import Engine
from models.database import transaction
from models.results import TestExecutionHistory
from models.runs import TestRunItem
from tests.execution.engine_harness import Team, rows, step

# Waits of the six test cases in execution order: the long one last, where strict order
# starts it when the short ones are done, and the other slot idles while it runs.
WAITS_S = [1, 1, 1, 1, 1, 8]
SLOTS = 2


def makespan_in_order(durations: list[float], slots: int) -> float:
    """When the last item ends if each starts, in the given order, on the first free slot."""
    free_at = [0.0] * slots
    for duration in durations:
        first = free_at.index(min(free_at))
        free_at[first] += duration
    return max(free_at)


def optimum(durations: list[float], slots: int) -> float:
    """The shortest makespan over every assignment of the items to the slots."""
    best = float("inf")
    for assignment in itertools.product(range(slots), repeat=len(durations)):
        loads = [0.0] * slots
        for slot, duration in zip(assignment, durations, strict=True):
            loads[slot] += duration
        best = min(best, max(loads))
    return best


async def seed_history(team: Team, test_case_id: uuid.UUID, duration_ms: int) -> None:
    """Past executions of the test case whose median is `duration_ms`."""
    async with transaction(team.sessions) as session:
        for offset, spread in enumerate((-200, 0, 300)):
            session.add(
                TestExecutionHistory(
                    test_case_id=test_case_id,
                    status="passed",
                    executed_at=datetime.now(UTC) - timedelta(days=offset + 1),
                    duration_ms=duration_ms + spread,
                )
            )


async def test_longest_expected_first_ends_near_the_optimum_where_strict_order_does_not(
    cdp_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    cases = [
        {
            "proven_steps": [
                step(1, "navigate_to", url=f"{site}/login.html"),
                step(2, "wait", seconds=wait),
            ]
        }
        for wait in WAITS_S
    ]
    run_id = await team.run_of(cases, parallel_enabled=True, parallel_count=SLOTS)
    items = sorted(
        await rows(team, TestRunItem, test_run_id=run_id), key=lambda i: i.execution_order
    )
    for item, wait in zip(items, WAITS_S, strict=True):
        await seed_history(team, item.test_case_id, wait * 1000)

    await team.start(run_id, stub_broker)
    run = await team.wait_final(run_id, timeout_s=60)

    assert (run.status, run.passed_tests) == ("completed", len(WAITS_S))
    items = sorted(
        await rows(team, TestRunItem, test_run_id=run_id), key=lambda i: i.execution_order
    )
    # The display order is untouched; the longest started first.
    assert [item.execution_order for item in items] == list(range(1, len(WAITS_S) + 1))
    first_two = sorted(items, key=lambda item: item.started_at)[:SLOTS]
    assert 6 in {item.execution_order for item in first_two}
    durations = [(i.completed_at - i.started_at).total_seconds() for i in items]
    started = min(item.started_at for item in items)
    makespan = (max(item.completed_at for item in items) - started).total_seconds()
    best = optimum(durations, SLOTS)
    strict = makespan_in_order(durations, SLOTS)
    assert makespan / best <= 1.10, (makespan, best, durations)
    assert strict / best > 1.10, (strict, best, durations)


async def test_unknown_durations_start_first_and_sequential_runs_keep_their_order(
    cdp_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    cases = [{"proven_steps": [step(1, "navigate_to", url=f"{site}/login.html")]}] * 3
    balanced = await team.run_of(cases, parallel_enabled=True, parallel_count=2)
    sequential = await team.run_of(cases)
    for run_id in (balanced, sequential):
        items = await rows(team, TestRunItem, test_run_id=run_id)
        for item in items:
            if item.execution_order != 3:  # the last one has no history
                await seed_history(team, item.test_case_id, 5_000)

    for run_id in (balanced, sequential):
        await team.start(run_id, stub_broker)
        await team.wait_final(run_id)

    def start_order(found: list[TestRunItem]) -> list[int]:
        return [item.execution_order for item in sorted(found, key=lambda i: i.started_at)]

    # Two at a time: the never-run one is in the first claim (same start), before item 2.
    assert set(start_order(await rows(team, TestRunItem, test_run_id=balanced))[:2]) == {1, 3}
    assert start_order(await rows(team, TestRunItem, test_run_id=sequential)) == [1, 2, 3]
