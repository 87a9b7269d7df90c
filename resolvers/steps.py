"""Step results: how each step of a result went, added in bulk by the engine or a client."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Insert, Integer, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base, table_of
from models.enums import StepStatus
from models.results import TestRunResult, TestStepResult
from models.runs import TestRun
from resolvers import stats
from resolvers.batches import batch_rows, group_rows, keyed
from resolvers.errors import Conflict, NotFound
from resolvers.fitting import fit_columns
from resolvers.results import (
    Milliseconds,
    Position,
    lock_result,
    not_before_start,
    read_result_rows,
    read_test_run_result,
)
from resolvers.tokens import Principal
from resolvers.validation import Input, PageInput, Recorded, RecordedName, Timestamp

MAX_BATCH = 5_000


class StepResultInput(Input):
    """One executed step; `duration_ms` left out is taken from the timestamps."""

    step_number: Position
    action: RecordedName
    description: Recorded | None = None
    status: StepStatus
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    duration_ms: Milliseconds | None = None
    selector: Recorded | None = None
    element_html: Recorded | None = None
    input_value: Recorded | None = None
    screenshot_path: Recorded | None = None
    screenshot_url: Recorded | None = None
    error_message: Recorded | None = None
    error_stack_trace: Recorded | None = None
    playwright_code: Recorded | None = None
    window_id: Recorded | None = None
    window_title: Recorded | None = None

    _completed = field_validator("completed_at")(not_before_start)


class StepResultBatch(Input):
    """Steps added in one call: 1 to 5000, each step number once."""

    steps: Annotated[list[StepResultInput], Field(min_length=1, max_length=MAX_BATCH)]

    @field_validator("steps")
    @classmethod
    def _numbers_once(cls, steps: list[StepResultInput]) -> list[StepResultInput]:
        seen: set[int] = set()
        for step in steps:
            if step.step_number in seen:
                raise ValueError(f"Step number {step.step_number} appears more than once")
            seen.add(step.step_number)
        return steps


def batch_times(now: datetime, count: int) -> list[datetime]:
    """`created_at` for rows added together: a microsecond apart, so they list as sent."""
    return [now + timedelta(microseconds=index) for index in range(count)]


def batch_columns(inputs: Sequence[BaseModel], result_id: uuid.UUID) -> dict[str, list[Any]]:
    """The rows of `inputs` column by column, with ids, their result and `created_at`."""
    count = len(inputs)
    columns: dict[str, list[Any]] = {
        "id": [uuid.uuid4() for _ in range(count)],
        "test_run_result_id": [result_id] * count,
        "created_at": batch_times(datetime.now(UTC), count),
    }
    for name in type(inputs[0]).model_fields:
        values = [getattr(row, name) for row in inputs]
        columns[name] = [v.value if isinstance(v, Enum) else v for v in values]
    return columns


async def insert_batch(
    session: AsyncSession, model: type[Base], columns: Mapping[str, Sequence[Any]]
) -> None:
    """Insert rows given column by column with ONE statement: INSERT ... SELECT FROM unnest.

    One array parameter per column whatever the number of rows (a multi-row VALUES hits
    PostgreSQL's 32767-parameter limit, executemany does per-row work), several times
    faster for thousands of rows. Scalar and JSON columns only: unnest flattens arrays.
    """
    names = tuple(columns)
    await session.execute(
        _batch_insert(model, names), {f"batch_{name}": list(columns[name]) for name in names}
    )


@functools.cache
def _batch_insert(model: type[Base], names: tuple[str, ...]) -> Insert:
    """`insert_batch`'s statement for these columns, built once: each step's record uses it."""
    table = table_of(model)
    arrays = [bindparam(f"batch_{name}", type_=ARRAY(table.c[name].type)) for name in names]
    batch = func.unnest(*arrays).table_valued(*names).render_derived(name="batch")
    return insert(table).from_select(names, select(*(batch.c[name] for name in names)))


async def add_step_results(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    steps: Sequence[StepResultInput],
) -> TestRunResult:
    """Add step rows to a client run's result (see `insert_step_results`)."""
    result, run = await lock_result(
        session, principal=principal, result_id=result_id, action="add step results"
    )
    await insert_step_results(session, run, result, steps)
    return result


# The lowest of some step numbers that a result has already.
_TAKEN_STEP = select(func.min(TestStepResult.step_number)).where(
    TestStepResult.test_run_result_id == bindparam("result_id"),
    TestStepResult.step_number == any_(bindparam("numbers", type_=ARRAY(Integer))),
)


async def insert_step_results(
    session: AsyncSession,
    run: TestRun,
    result: TestRunResult,
    steps: Sequence[StepResultInput],
    *,
    planned_steps: int = 0,
    recount: bool = True,
) -> list[uuid.UUID]:
    """Add step rows with one bulk INSERT; the result's step counts then come from its rows.

    The one writer of steps, for the engine and clients: texts are fitted to their columns,
    and a step number the result already has is a Conflict (a retried call adds nothing
    twice). The caller holds the run's lock. `planned_steps`, the steps the engine will
    play, keeps the total from shrinking to the steps played so far. With `recount` False
    the caller recounts (`stats.recount_result`) once it added the rest. Returns the new ids.
    """
    numbers = [step.step_number for step in steps]
    taken = await session.scalar(_TAKEN_STEP, {"result_id": result.id, "numbers": numbers})
    if taken is not None:
        raise Conflict(f"Step {taken} is already recorded for test run result {result.id}")
    columns = fit_columns(TestStepResult, batch_columns(steps, result.id))
    columns["duration_ms"] = [
        step.duration_ms
        if step.duration_ms is not None
        else stats.duration_ms(step.started_at, step.completed_at)
        for step in steps
    ]
    await insert_batch(session, TestStepResult, columns)

    if recount:
        await stats.recount_result(session, run, result, steps=True, planned_steps=planned_steps)
    ids: list[uuid.UUID] = columns["id"]
    return ids


_STEP_ORDER = (TestStepResult.step_number, TestStepResult.created_at, TestStepResult.id)


_STEPS_BY_RESULT = (
    select(TestStepResult).where(keyed(TestStepResult.test_run_result_id)).order_by(*_STEP_ORDER)
)


async def load_steps_by_result(
    session: AsyncSession, result_ids: Sequence[uuid.UUID]
) -> list[list[TestStepResult]]:
    """Each result's steps by step number (one SELECT)."""
    rows = await batch_rows(session, _STEPS_BY_RESULT, result_ids)
    return group_rows(result_ids, rows, lambda row: row.test_run_result_id)


async def add_step_result(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, step: StepResultInput
) -> TestStepResult:
    """Add one step as `add_step_results` does, and return its row."""
    await add_step_results(session, principal=principal, result_id=result_id, steps=[step])
    return await read_step_result(
        session, principal=principal, result_id=result_id, step_number=step.step_number
    )


async def read_step_result(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, step_number: int
) -> TestStepResult:
    """The result's step with `step_number`, or NotFound (for the result or the step)."""
    result = await read_test_run_result(session, principal=principal, result_id=result_id)
    step = await session.scalar(
        select(TestStepResult).where(
            TestStepResult.test_run_result_id == result.id,
            TestStepResult.step_number == step_number,
        )
    )
    if step is None:
        raise NotFound(f"Step result not found: step {step_number} of test run result {result.id}")
    return step


async def read_step_results(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[TestStepResult], int]:
    """One page of a result's steps by step number, and how many; NotFound for the result."""
    return await read_result_rows(
        session,
        principal=principal,
        result_id=result_id,
        page=page,
        rows=TestStepResult,
        order=_STEP_ORDER,
    )
