"""Test run results submitted by a client executor, and the item and run statistics they drive.

A run with `executor = client` (the spec's "Manual Test Run Workflow") is executed outside:
the client submits one result per attempt and data row, then its steps, checkpoints,
scripts and logs. Every submission first locks the run row, so submitters of one run
take turns, and recomputes the statistics from the rows, so any order gives the same
numbers; the run completes with the submission that makes its last item final.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy import Row, bindparam, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base, table_of
from models.enums import FINAL_ITEM_STATUSES, Executor, ResultStatus, RunStatus
from models.results import TestExecutionHistory, TestRunResult
from models.runs import TestRun, TestRunItem
from resolvers import stats
from resolvers.access import require_writer
from resolvers.batches import Columns, batch_columns, batch_rows, group_rows, keyed, pick_rows
from resolvers.errors import Conflict, InvalidState, NotFound, ValidationFailed
from resolvers.events import append_run_event
from resolvers.fitting import fit_row
from resolvers.item_rows import LATEST_RESULT_ORDER
from resolvers.items import read_test_run_item
from resolvers.pages import read_page
from resolvers.run_locks import lock_test_run, scoped_runs
from resolvers.tokens import Principal
from resolvers.validation import (
    Count,
    Input,
    PageInput,
    Percentage,
    Recorded,
    Timestamp,
)

Position = Annotated[int, Field(ge=1, le=2_147_483_647)]
# GraphQL's Int is 32 bits: a longer duration (24.8 days) could be stored but not read back.
MAX_MILLISECONDS = 2_147_483_647
Milliseconds = Count
JsonObject = dict[str, Any]


def not_before_start(value: datetime | None, info: ValidationInfo) -> datetime | None:
    """A `completed_at` validator: from the model's `started_at`, within a duration's range."""
    started_at = info.data.get("started_at")
    if value is not None and started_at is not None:
        if value < started_at:
            raise ValueError("Is before started_at")
        if stats.duration_ms(started_at, value) > MAX_MILLISECONDS:
            raise ValueError("Is more than 24 days after started_at")
    return value


def _at_least_parts(kind: str, *states: str) -> Callable[[int | None, ValidationInfo], int | None]:
    """A `total_<kind>` validator: the total is at least the sum of its `<state>_<kind>`."""
    message = f"Is less than the {' and '.join(states)} {kind} together"

    def check(value: int | None, info: ValidationInfo) -> int | None:
        parts = sum(info.data.get(f"{state}_{kind}") or 0 for state in states)
        if value is not None and value < parts:
            raise ValueError(message)
        return value

    return check


class ResultSubmission(Input):
    """One executed attempt (or data row) of a run item, as the client reports it.

    Counts left out are derived: `total_*` from the parts, pass rates from the counts,
    `duration_ms` from the timestamps, `completed_at` from `started_at` and `duration_ms`.
    Fields are declared in the order validators read them.
    """

    test_run_id: uuid.UUID
    test_run_item_id: uuid.UUID
    test_case_id: uuid.UUID
    status: ResultStatus
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    duration_ms: Milliseconds | None = None
    passed_steps: Count = 0
    failed_steps: Count = 0
    skipped_steps: Count = 0
    total_steps: Count | None = None
    pass_rate: Percentage | None = None
    passed_checkpoints: Count = 0
    failed_checkpoints: Count = 0
    total_checkpoints: Count | None = None
    checkpoint_pass_rate: Percentage | None = None
    iteration_number: Position | None = None
    data_row_index: Count | None = None
    data_row_values: JsonObject | None = None
    retry_attempt: Count = 0
    error_message: Recorded | None = None
    error_step_number: Position | None = None
    error_screenshot_path: Recorded | None = None
    initial_url: Recorded | None = None
    final_url: Recorded | None = None
    environment_info: JsonObject | None = None
    total_accessibility_violations: Count = 0
    accessibility_results: list[Any] | JsonObject | None = None
    racing_stats: JsonObject | None = None
    captured_downloads: list[Any] | JsonObject | None = None
    downloads_folder: Recorded | None = None
    results_folder: Recorded | None = None
    report_path: Recorded | None = None

    _completed = field_validator("completed_at")(not_before_start)
    _total_steps = field_validator("total_steps")(
        _at_least_parts("steps", "passed", "failed", "skipped")
    )
    _total_checkpoints = field_validator("total_checkpoints")(
        _at_least_parts("checkpoints", "passed", "failed")
    )

    @field_validator("data_row_index", "data_row_values")
    @classmethod
    def _data_driven_only(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and info.data.get("iteration_number") is None:
            raise ValueError("Only a data-driven result (with iteration_number) has a data row")
        return value


# --- locking and state ---------------------------------------------------------------------

_ACCEPTING = frozenset({RunStatus.RUNNING})
# A client run completes with its last result, whose steps and logs the spec's workflow
# posts afterwards: details of existing results are still taken then.
_ACCEPTING_DETAILS = frozenset({RunStatus.RUNNING, RunStatus.COMPLETED})


def check_client_run(run: TestRun, action: str, *, details: bool = False) -> None:
    """InvalidState unless `run` is executed by a client and in a state taking `action`."""
    if run.executor != Executor.CLIENT:
        raise InvalidState(f"Cannot {action}: test run is executed by the server")
    if run.status not in (_ACCEPTING_DETAILS if details else _ACCEPTING):
        raise InvalidState.of(action, run.status)


async def lock_result(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    action: str,
    shared: bool = False,
) -> tuple[TestRunResult, TestRun]:
    """A result of the caller's project for adding details, with its run locked.

    `shared` (FOR SHARE) lets writers that change no statistics, such as logs, run side
    by side while still keeping the run from changing state under them.
    """
    require_writer(principal)
    row = (
        await session.execute(
            _LOCKED_RESULT.where(TestRun.project_id == principal.project_id).with_for_update(
                of=TestRun, read=shared
            ),
            {"result_id": result_id},
        )
    ).one_or_none()
    if row is None:
        raise NotFound.of("Test run result", result_id)
    result, run = row
    check_client_run(run, action, details=True)
    return result, run


_LOCKED_RESULT = (
    select(TestRunResult, TestRun)
    .join(TestRun, TestRun.id == TestRunResult.test_run_id)
    .where(TestRunResult.id == bindparam("result_id"))
    .execution_options(populate_existing=True)
)
# FOR KEY SHARE: the items of a run record their steps side by side (they meet only at
# the run's event numbering), while whatever locks the run FOR UPDATE waits for them.
# The engine's record transactions start with it, so no row of theirs is loaded already.
_LOCKED_EXECUTED_RESULT = _LOCKED_RESULT.with_for_update(
    of=TestRun, key_share=True
).execution_options(populate_existing=False)


async def lock_executed_result(
    session: AsyncSession, result_id: uuid.UUID
) -> tuple[TestRunResult, TestRun]:
    """A result the engine is executing, with its run held, whatever the run's state.

    The run is held with a key-share lock: the run's other items record theirs at the
    same time, and a deletion, a stop or a finalization that locks the run for update
    waits for the transaction. A stop ends the run while its items finish the step in
    hand: that step is still recorded. LookupError for a result that is gone (its run was
    deleted). The first statement of its transaction.
    """
    row = (await session.execute(_LOCKED_EXECUTED_RESULT, {"result_id": result_id})).one_or_none()
    if row is None:
        raise LookupError(f"no test run result {result_id}")
    result, run = row
    return result, run


# --- submission ----------------------------------------------------------------------------


def _check_attempt(
    data: ResultSubmission,
    earlier: Sequence[TestRunResult],
    policy: stats.RetryPolicy,
    data_row_count: int,
) -> None:
    if data.retry_attempt > policy.max_attempt:
        raise ValidationFailed.of(
            "retry_attempt", f"The test run allows at most {policy.max_attempt} retries"
        )
    if data.iteration_number is not None and 0 < data_row_count < data.iteration_number:
        raise ValidationFailed.of(
            "iteration_number", f"The test case has {data_row_count} data rows"
        )
    if earlier and (earlier[0].iteration_number is None) != (data.iteration_number is None):
        kind = "not data-driven" if earlier[0].iteration_number is None else "data-driven"
        raise ValidationFailed.of(
            "iteration_number", f"The test run item's earlier results are {kind}"
        )
    for result in earlier:
        if (result.retry_attempt, result.iteration_number) == (
            data.retry_attempt,
            data.iteration_number,
        ):
            which = f"Attempt {data.retry_attempt}"
            if data.iteration_number is not None:
                which = f"Iteration {data.iteration_number} of attempt {data.retry_attempt}"
            raise Conflict(f"{which} of this test run item already has a result")


def _result_row(data: ResultSubmission, now: datetime) -> TestRunResult:
    values = data.model_dump(exclude={"pass_rate", "checkpoint_pass_rate"})
    total_steps = data.total_steps
    if total_steps is None:
        total_steps = data.passed_steps + data.failed_steps + data.skipped_steps
    total_checkpoints = data.total_checkpoints
    if total_checkpoints is None:
        total_checkpoints = data.passed_checkpoints + data.failed_checkpoints
    duration = data.duration_ms
    if duration is None:
        duration = stats.duration_ms(data.started_at, data.completed_at)
    completed_at = data.completed_at
    if completed_at is None and data.started_at is not None and data.duration_ms is not None:
        completed_at = data.started_at + timedelta(milliseconds=data.duration_ms)
    values |= {
        "id": uuid.uuid4(),
        "status": data.status.value,
        "duration_ms": duration,
        "completed_at": completed_at,
        "total_steps": total_steps,
        "pass_rate": stats.as_rate(data.pass_rate)
        if data.pass_rate is not None
        else stats.pass_rate(data.passed_steps, total_steps),
        "total_checkpoints": total_checkpoints,
        "checkpoint_pass_rate": stats.as_rate(data.checkpoint_pass_rate)
        if data.checkpoint_pass_rate is not None
        else stats.pass_rate(data.passed_checkpoints, total_checkpoints),
        "created_at": now,
    }
    return TestRunResult(**fit_row(TestRunResult, values))


def _history_row(result: TestRunResult, run: TestRun, now: datetime) -> TestExecutionHistory:
    return TestExecutionHistory(
        test_case_id=result.test_case_id,
        test_run_id=run.id,
        test_run_result_id=result.id,
        status=result.status,
        executed_at=result.started_at or now,
        duration_ms=result.duration_ms,
        total_steps=result.total_steps,
        passed_steps=result.passed_steps,
        failed_steps=result.failed_steps,
        pass_rate=result.pass_rate,
        error_message=result.error_message,
        run_name=run.run_name,
        is_scheduled=run.schedule_id is not None,
    )


async def submit_test_run_result(
    session: AsyncSession, *, principal: Principal, data: ResultSubmission
) -> TestRunResult:
    """Record a result of a running client run and roll it up into its item and run.

    The item becomes final as `stats.roll_up_item` decides; the run completes when every
    item is final. Refused (InvalidState) for server runs, runs not running, final items.
    """
    require_writer(principal)
    run = await lock_test_run(session, principal=principal, run_id=data.test_run_id)
    check_client_run(run, "submit results")
    item, data_row_count = await stats.read_item(session, run, data.test_run_item_id)
    if item.test_case_id != data.test_case_id:
        raise ValidationFailed.of("test_case_id", "Is not the test case of the test run item")
    if item.status in FINAL_ITEM_STATUSES:
        raise InvalidState(f"Cannot submit results: test run item status is '{item.status}'")
    policy = stats.RetryPolicy(run.retry_on_failure, run.retry_count)
    earlier = await stats.item_results(session, item.id)
    _check_attempt(data, earlier, policy, data_row_count)

    now = datetime.now(UTC)
    result = _result_row(data, now)
    session.add(result)
    await session.flush()
    await record_result_outcome(
        session, run, item, result, [*earlier, result], data_row_count=data_row_count, now=now
    )
    return result


async def record_result_outcome(
    session: AsyncSession,
    run: TestRun,
    item: TestRunItem,
    result: TestRunResult,
    results: Sequence[TestRunResult],
    *,
    data_row_count: int,
    now: datetime,
) -> tuple[stats.ItemRollup, stats.RunRollup]:
    """Log a finished result in its test case's history and roll it into its item and run.

    `results` are all of the item's results in submission order, `result` among them; the
    run is locked and running, the item not final. Client submissions and the engine both
    end a result through here.
    """
    session.add(_history_row(result, run, now))
    await session.flush()
    await append_run_event(
        session,
        run_id=run.id,
        type="result.submitted",
        payload={
            "result_id": str(result.id),
            "item_id": str(item.id),
            "status": result.status,
            "retry_attempt": result.retry_attempt,
            "iteration_number": result.iteration_number,
        },
    )
    policy = stats.RetryPolicy(run.retry_on_failure, run.retry_count)
    rollup = stats.roll_up_item(results, policy=policy, data_row_count=data_row_count)
    await stats.save_item(session, run, item, rollup, now)
    return rollup, await stats.refresh_run(session, run, now)


# --- reading -------------------------------------------------------------------------------


async def read_test_run_result(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID
) -> TestRunResult:
    """A result of the caller's project, or NotFound."""
    result = await session.scalar(
        select(TestRunResult)
        .join(TestRun, TestRun.id == TestRunResult.test_run_id)
        .where(TestRunResult.id == result_id, TestRun.project_id == principal.project_id)
    )
    if result is None:
        raise NotFound.of("Test run result", result_id)
    return result


_ATTEMPT_ORDER = (
    TestRunResult.retry_attempt,
    TestRunResult.iteration_number.asc().nulls_first(),
    TestRunResult.created_at,
    TestRunResult.id,
)


_RESULTS_BY_ITEM = (
    select(TestRunResult).where(keyed(TestRunResult.test_run_item_id)).order_by(*_ATTEMPT_ORDER)
)


async def load_results_by_item(
    session: AsyncSession, item_ids: Sequence[uuid.UUID]
) -> list[list[TestRunResult]]:
    """Each item's results by attempt, then data row, then submission (one SELECT)."""
    rows = await batch_rows(session, _RESULTS_BY_ITEM, item_ids)
    return group_rows(item_ids, rows, lambda row: row.test_run_item_id)


_LATEST_RESULTS_BY_ITEM = (
    select(TestRunResult)
    .where(keyed(TestRunResult.test_run_item_id))
    .ext(distinct_on(TestRunResult.test_run_item_id))
    .order_by(TestRunResult.test_run_item_id, *LATEST_RESULT_ORDER)
)


async def load_latest_results_by_item(
    session: AsyncSession, item_ids: Sequence[uuid.UUID]
) -> list[TestRunResult | None]:
    """Each item's latest result: last attempt, last submitted (one SELECT, DISTINCT ON)."""
    rows = await batch_rows(session, _LATEST_RESULTS_BY_ITEM, item_ids)
    return pick_rows(item_ids, rows, lambda row: row.test_run_item_id)


async def load_latest_result_columns_by_item(
    session: AsyncSession, item_ids: Sequence[uuid.UUID], *, columns: Columns
) -> list[Row[Any] | None]:
    """`load_latest_results_by_item` as rows of `columns` (the item's id among them)."""
    if "test_run_item_id" not in columns:
        columns = ("test_run_item_id", *columns)
    rows = await batch_columns(
        session, _LATEST_RESULTS_BY_ITEM, item_ids, model=TestRunResult, columns=columns
    )
    return pick_rows(item_ids, rows, lambda row: row.test_run_item_id)


_RESULTS_BY_RUN = (
    select(TestRunResult)
    .join(TestRunItem, TestRunItem.id == TestRunResult.test_run_item_id)
    .where(keyed(TestRunResult.test_run_id))
    .order_by(TestRunItem.execution_order, *_ATTEMPT_ORDER)
)


async def load_results_by_run(
    session: AsyncSession, run_ids: Sequence[uuid.UUID]
) -> list[list[TestRunResult]]:
    """Each run's results in item order, then as `load_results_by_item` (one SELECT)."""
    rows = await batch_rows(session, _RESULTS_BY_RUN, run_ids)
    return group_rows(run_ids, rows, lambda row: row.test_run_id)


async def read_test_run_results(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[TestRunResult], int]:
    """One page of a run's results (item order, then attempt) and how many; NotFound for the run."""
    if await session.scalar(scoped_runs(principal).where(TestRun.id == run_id)) is None:
        raise NotFound.of("Test run", run_id)
    statement = (
        select(TestRunResult)
        .join(TestRunItem, TestRunItem.id == TestRunResult.test_run_item_id)
        .where(TestRunResult.test_run_id == run_id)
    )
    return await read_page(session, statement, page, TestRunItem.execution_order, *_ATTEMPT_ORDER)


ResultRow = TypeVar("ResultRow", bound=Base)


async def read_result_rows(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    page: PageInput,
    rows: type[ResultRow],
    order: Sequence[Any],
) -> tuple[Sequence[ResultRow], int]:
    """One page of a result's `rows` (steps, logs...) in `order`, and how many; NotFound for it."""
    result = await read_test_run_result(session, principal=principal, result_id=result_id)
    of_result = table_of(rows).c.test_run_result_id == result.id
    return await read_page(session, select(rows).where(of_result), page, *order)


async def read_item_results(
    session: AsyncSession, *, principal: Principal, item_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[TestRunResult], int]:
    """One page of an item's results by attempt, and how many; NotFound for the item."""
    item = await read_test_run_item(session, principal=principal, item_id=item_id)
    statement = select(TestRunResult).where(TestRunResult.test_run_item_id == item.id)
    return await read_page(session, statement, page, *_ATTEMPT_ORDER)
