"""Checkpoint results: the verifications of a result (element, screenshot, api, download).

Written by the engine and by client executors alike through `insert_checkpoint_results`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import CheckpointStatus, CheckpointType
from models.results import CheckpointResult, TestRunResult, TestStepResult
from models.runs import TestRun
from resolvers import stats
from resolvers.batches import batch_rows, group_rows, keyed
from resolvers.errors import FieldError, ValidationFailed
from resolvers.fitting import fit_row
from resolvers.results import JsonObject, lock_result, read_result_rows
from resolvers.steps import MAX_BATCH, batch_times
from resolvers.tokens import Principal
from resolvers.validation import (
    Count,
    Input,
    PageInput,
    Percentage,
    Recorded,
    RecordedName,
)

_ADDED_ORDER = (CheckpointResult.created_at, CheckpointResult.id)


class CheckpointResultInput(Input):
    """One verification; `test_step_result_id` ties it to a step of the same result."""

    checkpoint_name: RecordedName
    checkpoint_type: CheckpointType
    status: CheckpointStatus
    test_step_result_id: uuid.UUID | None = None
    selector: Recorded | None = None
    profile: Recorded | None = None
    expected_properties: JsonObject | None = None
    actual_properties: JsonObject | None = None
    failed_properties: Annotated[list[Recorded], Field(max_length=1_000)] | None = None
    property_verifications: Annotated[list[JsonObject], Field(max_length=1_000)] | None = None
    screenshot_index: Count | None = None
    baseline_screenshot_path: Recorded | None = None
    actual_screenshot_path: Recorded | None = None
    diff_screenshot_path: Recorded | None = None
    diff_percentage: Percentage | None = None
    error_message: Recorded | None = None


class CheckpointResultBatch(Input):
    """Checkpoints added in one call: 1 to 5000."""

    checkpoints: Annotated[list[CheckpointResultInput], Field(min_length=1, max_length=MAX_BATCH)]


async def _check_steps(
    session: AsyncSession, result: TestRunResult, checkpoints: Sequence[CheckpointResultInput]
) -> None:
    wanted = {c.test_step_result_id for c in checkpoints if c.test_step_result_id is not None}
    if not wanted:
        return
    found = set(
        await session.scalars(
            select(TestStepResult.id).where(
                TestStepResult.id.in_(wanted), TestStepResult.test_run_result_id == result.id
            )
        )
    )
    errors = [
        FieldError(f"checkpoints.{index}.test_step_result_id", "Not a step of this test run result")
        for index, checkpoint in enumerate(checkpoints)
        if checkpoint.test_step_result_id is not None
        and checkpoint.test_step_result_id not in found
    ]
    if errors:
        raise ValidationFailed(errors)


def _row(checkpoint: CheckpointResultInput, result_id: uuid.UUID) -> dict[str, Any]:
    diff = checkpoint.diff_percentage
    return fit_row(
        CheckpointResult,
        checkpoint.model_dump()
        | {
            "id": uuid.uuid4(),
            "test_run_result_id": result_id,
            "checkpoint_type": checkpoint.checkpoint_type.value,
            "status": checkpoint.status.value,
            "diff_percentage": None if diff is None else stats.as_rate(diff),
        },
    )


async def _add(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    checkpoints: Sequence[CheckpointResultInput],
) -> tuple[TestRunResult, list[uuid.UUID]]:
    result, run = await lock_result(
        session, principal=principal, result_id=result_id, action="add checkpoint results"
    )
    return result, await insert_checkpoint_results(session, run, result, checkpoints)


async def insert_checkpoint_results(
    session: AsyncSession,
    run: TestRun,
    result: TestRunResult,
    checkpoints: Sequence[CheckpointResultInput],
    *,
    recount: bool = True,
) -> list[uuid.UUID]:
    """Add checkpoint rows and recount the result's checkpoints; the new ids.

    The one writer of checkpoints, for the engine and clients; the caller holds the run's lock.
    With `recount` False the caller recounts (`stats.recount_result`) once it added the rest.
    """
    await _check_steps(session, result, checkpoints)
    times = batch_times(datetime.now(UTC), len(checkpoints))
    rows = [
        _row(checkpoint, result.id) | {"created_at": created_at}
        for checkpoint, created_at in zip(checkpoints, times, strict=True)
    ]
    await session.execute(insert(CheckpointResult), rows)

    if recount:
        await stats.recount_result(session, run, result, checkpoints=True)
    return [row["id"] for row in rows]


async def add_checkpoint_results(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    checkpoints: Sequence[CheckpointResultInput],
) -> TestRunResult:
    """Add checkpoint rows with one bulk INSERT; the result's checkpoint counts come from them."""
    result, _ = await _add(
        session, principal=principal, result_id=result_id, checkpoints=checkpoints
    )
    return result


async def add_checkpoint_result(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    checkpoint: CheckpointResultInput,
) -> CheckpointResult:
    """Add one checkpoint as `add_checkpoint_results` does, and return its row."""
    _, (checkpoint_id,) = await _add(
        session, principal=principal, result_id=result_id, checkpoints=[checkpoint]
    )
    row = await session.get(CheckpointResult, checkpoint_id)
    assert row is not None  # inserted by this transaction just now
    return row


async def read_checkpoint_results(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[CheckpointResult], int]:
    """One page of a result's checkpoints as added, and how many; NotFound for the result."""
    return await read_result_rows(
        session,
        principal=principal,
        result_id=result_id,
        page=page,
        rows=CheckpointResult,
        order=_ADDED_ORDER,
    )


_CHECKPOINTS_BY_RESULT = (
    select(CheckpointResult)
    .where(keyed(CheckpointResult.test_run_result_id))
    .order_by(*_ADDED_ORDER)
)


async def load_checkpoints_by_result(
    session: AsyncSession, result_ids: Sequence[uuid.UUID]
) -> list[list[CheckpointResult]]:
    """Each result's checkpoints in the order they were added (one SELECT)."""
    rows = await batch_rows(session, _CHECKPOINTS_BY_RESULT, result_ids)
    return group_rows(result_ids, rows, lambda row: row.test_run_result_id)
