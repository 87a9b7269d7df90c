"""What a run's report shows: the run, its items in order, every result with its steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from models.results import CheckpointResult, TestRunResult, TestStepResult
from models.runs import TestRun, TestRunItem
from resolvers.checkpoints import load_checkpoints_by_result
from resolvers.flakiness import DEFAULT_FLAKY_WINDOW, Flakiness, load_flakiness
from resolvers.items import load_items_by_run
from resolvers.results import load_results_by_item
from resolvers.runs import read_test_run
from resolvers.steps import load_steps_by_result
from resolvers.test_cases import load_test_cases
from resolvers.tokens import Principal


@dataclass(frozen=True, slots=True)
class ReportResult:
    """One attempt (or data row) of an item with its steps and checkpoints in order."""

    result: TestRunResult
    steps: list[TestStepResult]
    checkpoints: list[CheckpointResult]


@dataclass(frozen=True, slots=True)
class ReportItem:
    """One test case of the run, named, with its results by attempt."""

    item: TestRunItem
    test_case_name: str
    suite_path: list[str]
    results: list[ReportResult]
    flakiness: Flakiness


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything a report of one run shows."""

    run: TestRun
    items: list[ReportItem]


async def read_test_run_report(
    session: AsyncSession,
    *,
    principal: Principal,
    run_id: uuid.UUID,
    flaky_window: int = DEFAULT_FLAKY_WINDOW,
) -> RunReport:
    """The caller's project's run with all it recorded, in seven statements; NotFound otherwise.

    Each item says how flaky its test case is over the last `flaky_window` executions.
    """
    run = await read_test_run(session, principal=principal, run_id=run_id)
    (items,) = await load_items_by_run(session, [run.id])
    cases = await load_test_cases(session, [item.test_case_id for item in items])
    flakiness = await load_flakiness(
        session, [item.test_case_id for item in items], window=flaky_window
    )
    results_by_item = await load_results_by_item(session, [item.id for item in items])
    result_ids = [result.id for results in results_by_item for result in results]
    steps = dict(zip(result_ids, await load_steps_by_result(session, result_ids), strict=True))
    checkpoints = dict(
        zip(result_ids, await load_checkpoints_by_result(session, result_ids), strict=True)
    )
    return RunReport(
        run=run,
        items=[
            ReportItem(
                item=item,
                test_case_name=case.name if case else str(item.test_case_id),
                suite_path=list(case.suite_path or []) if case else [],
                results=[
                    ReportResult(result, steps[result.id], checkpoints[result.id])
                    for result in results
                ],
                flakiness=flaky,
            )
            for item, case, results, flaky in zip(
                items, cases, results_by_item, flakiness, strict=True
            )
        ],
    )
