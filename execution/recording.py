"""Writing what an execution does: results, steps, checkpoints, logs, scripts, roll-ups.

Each function is one short transaction with its run event, so a dashboard sees every step
the moment it ends, and a crash loses at most the step in flight. Rows go through the same
resolvers as a client executor's (`resolvers.steps`, `checkpoints`, `logs`,
`script_results`), so validation, fitting to columns and counting exist once. A write that
fails is retried on its own (`persist`); when it still fails, the replay ends the result
with that message instead of starting over.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import Claim, claim_next_items
from models.base import table_of
from models.database import transaction
from models.enums import FINAL_ITEM_STATUSES, ItemStatus, ResultStatus
from models.results import ConsoleLog, NetworkLog, TestRunResult, TestStepResult
from models.runs import TestRun, TestRunItem
from resolvers import stats
from resolvers.baselines import read_baseline_path, save_baseline
from resolvers.checkpoints import CheckpointResultInput, insert_checkpoint_results
from resolvers.errors import Conflict, ResolverError
from resolvers.events import append_run_event, batched_run_events
from resolvers.fitting import fit_row
from resolvers.logs import ConsoleLogInput, NetworkLogInput, insert_logs
from resolvers.results import lock_executed_result, record_result_outcome
from resolvers.run_locks import lock_running_run
from resolvers.script_results import ScriptResultInput, insert_script_result
from resolvers.steps import StepResultInput, insert_step_results

Sessions = async_sessionmaker[AsyncSession]
Written = TypeVar("Written")
logger = logging.getLogger(__name__)

# Pauses between the tries of a failed write: a database that blinks is given ~3 s.
RETRY_PAUSES_S = (0.25, 0.75, 2.0)
# Errors that another try cannot cure: the values themselves are refused.
_PERMANENT = (ValidationError, ResolverError, LookupError)


class RecordingFailed(Exception):
    """A write of the execution failed, even after retries; the message says what and why."""


def reason(error: BaseException) -> str:
    """The database's own words for `error`, without the statement and its parameters."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        words = str(error.orig).splitlines()[0] if str(error.orig) else type(error.orig).__name__
        return words.split(">: ", 1)[-1]  # asyncpg's errors come as "<class '...'>: message"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


async def persist(write: Callable[[], Awaitable[Written]], what: str) -> Written:
    """`write()`, tried again after a pause while it fails; RecordingFailed at the end.

    Each try is a whole transaction, so a failed one leaves nothing behind.
    """
    pauses = iter(RETRY_PAUSES_S)
    while True:
        try:
            return await write()
        except _PERMANENT as error:
            raise RecordingFailed(f"Could not record {what}: {reason(error)}") from error
        except Exception as error:
            pause = next(pauses, None)
            if pause is None:
                raise RecordingFailed(f"Could not record {what}: {reason(error)}") from error
            logger.warning("recording %s failed, trying again: %s", what, reason(error))
            await asyncio.sleep(pause)


@dataclass(frozen=True, slots=True)
class ResultStart:
    """Where a result belongs and which attempt and data row it replays."""

    run_id: uuid.UUID
    item_id: uuid.UUID
    test_case_id: uuid.UUID
    retry_attempt: int
    total_steps: int
    iteration_number: int | None = None
    data_row_values: dict[str, Any] | None = None


async def open_result(sessions: Sessions, start: ResultStart) -> uuid.UUID:
    """Insert the result being executed: `skipped` with no end until `close_result`."""
    now = datetime.now(UTC)
    result_id = uuid.uuid4()
    async with transaction(sessions) as session:
        values = {
            "id": result_id,
            "test_run_id": start.run_id,
            "test_run_item_id": start.item_id,
            "test_case_id": start.test_case_id,
            "status": ResultStatus.SKIPPED.value,
            "started_at": now,
            "total_steps": start.total_steps,
            "retry_attempt": start.retry_attempt,
            "iteration_number": start.iteration_number,
            "data_row_index": None
            if start.iteration_number is None
            else start.iteration_number - 1,
            "data_row_values": start.data_row_values,
            "created_at": now,
        }
        session.add(TestRunResult(**fit_row(TestRunResult, values)))
        await session.flush()
        await _progress(
            session,
            start.run_id,
            start.item_id,
            {"current_step": 0, "total_steps": start.total_steps},
            (
                "result.started",
                {
                    "result_id": str(result_id),
                    "item_id": str(start.item_id),
                    "retry_attempt": start.retry_attempt,
                    "iteration_number": start.iteration_number,
                    "total_steps": start.total_steps,
                },
            ),
        )
    return result_id


async def _progress(
    session: AsyncSession,
    run_id: uuid.UUID,
    item_id: uuid.UUID,
    values: dict[str, Any],
    *events: tuple[str, dict[str, Any]],
) -> None:
    """Move an executing item's progress columns and say so with run events (type, payload)."""
    items = table_of(TestRunItem)
    await session.execute(
        update(items)
        .where(items.c.id == item_id)
        .values(values | {"updated_at": datetime.now(UTC)})
    )
    for event, payload in events:
        await append_run_event(session, run_id=run_id, type=event, payload=payload)


async def set_vnc_url(
    sessions: Sessions, run_id: uuid.UUID, item_id: uuid.UUID, url: str | None
) -> None:
    """Publish where people can watch the item's browser."""
    url = fit_row(TestRunItem, {"vnc_url": url})["vnc_url"]
    async with transaction(sessions) as session:
        await session.execute(
            update(TestRunItem).where(TestRunItem.id == item_id).values(vnc_url=url)
        )
        await append_run_event(
            session,
            run_id=run_id,
            type="item.sandbox_ready",
            payload={"id": str(item_id), "vnc_url": url},
        )


@dataclass(frozen=True, slots=True)
class StepStart:
    """A step about to execute: its number and action."""

    step_number: int
    action: str

    def event(self, item_id: uuid.UUID, result_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
        """Its `step.started` run event."""
        return (
            "step.started",
            {
                "item_id": str(item_id),
                "result_id": str(result_id),
                "step_number": self.step_number,
                "action": fit_row(TestStepResult, {"action": self.action})["action"],
                "current_step": self.step_number,
            },
        )


async def record_step_started(
    sessions: Sessions,
    *,
    run_id: uuid.UUID,
    item_id: uuid.UUID,
    result_id: uuid.UUID,
    start: StepStart,
) -> None:
    """Say which step executes now: the item's `current_step`, and a `step_started` event."""
    async with transaction(sessions) as session:
        await _progress(
            session,
            run_id,
            item_id,
            {"current_step": start.step_number},
            start.event(item_id, result_id),
        )


@dataclass(frozen=True, slots=True)
class NewBaseline:
    """A visual checkpoint's image that becomes the first baseline of its name and viewport."""

    name: str
    width: int
    height: int
    image_path: str


async def read_baseline(
    sessions: Sessions, test_case_id: uuid.UUID, name: str, width: int, height: int
) -> str | None:
    """The artifact path of the test case's baseline of `name` at width x height, or None."""
    async with sessions() as session:
        return await read_baseline_path(
            session, test_case_id=test_case_id, name=name, width=width, height=height
        )


async def record_step(
    sessions: Sessions,
    *,
    item_id: uuid.UUID,
    result_id: uuid.UUID,
    step: StepResultInput,
    checkpoint: CheckpointResultInput | None,
    console: Sequence[ConsoleLogInput],
    network: Sequence[NetworkLogInput],
    planned_steps: int,
    baseline: NewBaseline | None = None,
    next_step: StepStart | None = None,
) -> None:
    """Store one replayed step (with its checkpoint and logs) and move the item's progress.

    One transaction, counting the result once and numbering its events together. With
    `next_step`, the step that starts right after this one is announced in it as well
    (`record_step_started`'s work, without a transaction of its own).

    A step the result already has was stored by an earlier try whose answer was lost:
    nothing is written twice. `baseline` (with a checkpoint) becomes its name's baseline
    unless another result stored one first.
    """
    try:
        async with transaction(sessions) as session, batched_run_events(session):
            result, run = await lock_executed_result(session, result_id)
            [step_id] = await insert_step_results(session, run, result, [step], recount=False)
            if checkpoint is not None:
                linked = checkpoint.model_copy(update={"test_step_result_id": step_id})
                [checkpoint_id] = await insert_checkpoint_results(
                    session, run, result, [linked], recount=False
                )
                if baseline is not None:
                    await save_baseline(
                        session,
                        test_case_id=result.test_case_id,
                        name=baseline.name,
                        width=baseline.width,
                        height=baseline.height,
                        image_path=baseline.image_path,
                        checkpoint_id=checkpoint_id,
                        replace=False,
                    )
            await insert_logs(session, ConsoleLog, result.id, console)
            await insert_logs(session, NetworkLog, result.id, network)
            await stats.recount_result(
                session,
                run,
                result,
                steps=True,
                checkpoints=checkpoint is not None,
                planned_steps=planned_steps,
                executing=result.completed_at is None,
            )
            completed = {
                "item_id": str(item_id),
                "result_id": str(result_id),
                "step_number": step.step_number,
                "action": fit_row(TestStepResult, {"action": step.action})["action"],
                "status": step.status.value,
                "duration_ms": step.duration_ms,
                "error_message": step.error_message,
                "current_step": step.step_number,
            }
            events = [("step.completed", completed)]
            if next_step is not None:
                events.append(next_step.event(item_id, result_id))
            current = next_step.step_number if next_step is not None else step.step_number
            await _progress(session, run.id, item_id, {"current_step": current}, *events)
    except Conflict:
        logger.info("step %d of result %s was already recorded", step.step_number, result_id)


async def record_skipped_steps(
    sessions: Sessions,
    result_id: uuid.UUID,
    steps: Sequence[StepResultInput],
    *,
    planned_steps: int,
) -> None:
    """Store the steps a failure or a stop left unplayed, as `skipped`."""
    if not steps:
        return
    try:
        async with transaction(sessions) as session:
            result, run = await lock_executed_result(session, result_id)
            await insert_step_results(session, run, result, steps, planned_steps=planned_steps)
    except Conflict:
        logger.info("the skipped steps of result %s were already recorded", result_id)


async def record_script(
    sessions: Sessions, result_id: uuid.UUID, script: ScriptResultInput
) -> None:
    """Store one script execution of a result, and count it."""
    async with transaction(sessions) as session:
        result, run = await lock_executed_result(session, result_id)
        await insert_script_result(session, run, result, script)


@dataclass(frozen=True, slots=True)
class ResultEnd:
    """How a result ended; its counts come from its rows, counted as they were written."""

    status: ResultStatus
    error_message: str | None = None
    error_step_number: int | None = None
    error_screenshot_path: str | None = None
    final_url: str | None = None
    initial_url: str | None = None
    pre_script_aborted: bool = False
    video_path: str | None = None
    trace_path: str | None = None
    environment_info: dict[str, Any] | None = None
    captured_downloads: list[dict[str, Any]] | None = None
    downloads_folder: str | None = None
    # axe-core scans of the pages the result reached, one entry per scan.
    accessibility_results: list[dict[str, Any]] | None = None
    total_accessibility_violations: int = 0


async def close_result(
    sessions: Sessions,
    claim: Claim,
    run_id: uuid.UUID,
    result_id: uuid.UUID,
    end: ResultEnd,
    *,
    worker: str,
) -> tuple[bool, list[Claim]]:
    """Finish a result and roll it up: returns whether the item is final, and items to start.

    With the run no longer running (stopped), only the result is written: the stop already
    ended the item and the run.
    """
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        result = await session.get(TestRunResult, result_id, populate_existing=True)
        if result is None:
            raise LookupError(f"no test run result {result_id}")
        values = {
            "status": end.status.value,
            "completed_at": now,
            "duration_ms": stats.duration_ms(result.started_at, now),
            "error_message": end.error_message,
            "error_step_number": end.error_step_number,
            "error_screenshot_path": end.error_screenshot_path,
            "final_url": end.final_url,
            "initial_url": end.initial_url,
            "pre_script_aborted": end.pre_script_aborted,
            "video_path": end.video_path,
            "trace_path": end.trace_path,
            "environment_info": end.environment_info,
            "captured_downloads": end.captured_downloads,
            "downloads_folder": end.downloads_folder,
            "accessibility_results": end.accessibility_results,
            "total_accessibility_violations": end.total_accessibility_violations,
        }
        for name, value in fit_row(TestRunResult, values).items():
            setattr(result, name, value)
        run = await lock_running_run(session, run_id)
        await session.flush()
        if run is None:
            return True, []
        item, data_row_count = await stats.read_item(session, run, claim.item_id)
        if item.status in FINAL_ITEM_STATUSES or item.attempt != claim.attempt:
            return True, []  # a stale execution: another one owns the item now
        item_rollup, run_rollup = await record_result_outcome(
            session,
            run,
            item,
            result,
            await stats.item_results(session, item.id),
            data_row_count=data_row_count,
            now=now,
        )
        if not item_rollup.final:
            return False, []
        return True, await _next(session, run, run_rollup, worker=worker)


async def finish_without_result(
    sessions: Sessions,
    claim: Claim,
    run_id: uuid.UUID,
    *,
    status: ItemStatus,
    error: str | None,
    worker: str,
) -> list[Claim]:
    """End an item that produced no result (no proven steps: `no_run`; lost: `failed`)."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        run = await lock_running_run(session, run_id)
        if run is None:
            return []
        ended = await session.scalar(
            update(TestRunItem)
            .where(
                TestRunItem.id == claim.item_id,
                TestRunItem.status == ItemStatus.RUNNING,
                TestRunItem.attempt == claim.attempt,
            )
            .values(status=status, completed_at=now, error_message=error, updated_at=now)
            .returning(TestRunItem.id)
        )
        if ended is None:
            return []
        await append_run_event(
            session,
            run_id=run.id,
            type="item.updated",
            payload={"id": str(claim.item_id), "status": status.value, "error_message": error},
        )
        rollup = await stats.refresh_run(session, run, now)
        return await _next(session, run, rollup, worker=worker)


async def _next(
    session: AsyncSession, run: TestRun, rollup: stats.RunRollup, *, worker: str
) -> list[Claim]:
    """The items to start now that one ended, unless that completed the run."""
    if rollup.complete:
        return []
    return await claim_next_items(session, run, worker=worker)


async def open_results(sessions: Sessions, item_id: uuid.UUID) -> list[uuid.UUID]:
    """Results of the item that were started and never ended, oldest first."""
    async with sessions() as session:
        return list(
            await session.scalars(
                select(TestRunResult.id)
                .where(
                    TestRunResult.test_run_item_id == item_id,
                    TestRunResult.completed_at.is_(None),
                )
                .order_by(TestRunResult.created_at)
            )
        )


async def item_attempt(session: AsyncSession, item_id: uuid.UUID) -> int | None:
    """The item's current execution number, if it is running."""
    return await session.scalar(
        select(TestRunItem.attempt).where(
            TestRunItem.id == item_id, TestRunItem.status == ItemStatus.RUNNING
        )
    )
