"""Writing what an execution does: results, steps, checkpoints, logs, scripts, roll-ups.

Each function is one short transaction with its run event, so a dashboard sees every step
the moment it ends, and a crash loses at most the step in flight.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import Claim, claim_next_items
from models.database import transaction
from models.enums import FINAL_ITEM_STATUSES, ItemStatus, ResultStatus
from models.results import (
    CheckpointResult,
    ConsoleLog,
    NetworkLog,
    ScriptResult,
    TestRunResult,
    TestStepResult,
)
from models.runs import TestRun, TestRunItem
from resolvers import stats
from resolvers.events import append_run_event
from resolvers.results import record_result_outcome
from resolvers.run_locks import lock_running_run

Sessions = async_sessionmaker[AsyncSession]


@dataclass(slots=True)
class ResultTally:
    """Counts of one result as its steps, checkpoints and scripts end."""

    total_steps: int
    passed_steps: int = 0
    failed_steps: int = 0
    skipped_steps: int = 0
    passed_checkpoints: int = 0
    failed_checkpoints: int = 0
    scripts: dict[str, list[int]] = field(default_factory=dict)  # type -> [total, passed, failed]

    def count_script(self, script_type: str, *, passed: bool) -> None:
        """Count a script of `script_type` (pre_execution, post_execution, on_demand)."""
        total, ok, failed = self.scripts.get(script_type, [0, 0, 0])
        self.scripts[script_type] = [total + 1, ok + passed, failed + (not passed)]

    def columns(self) -> dict[str, Any]:
        """The result's count columns."""
        checkpoints = self.passed_checkpoints + self.failed_checkpoints
        values: dict[str, Any] = {
            "total_steps": self.total_steps,
            "passed_steps": self.passed_steps,
            "failed_steps": self.failed_steps,
            "skipped_steps": self.skipped_steps,
            "pass_rate": stats.pass_rate(self.passed_steps, self.total_steps),
            "total_checkpoints": checkpoints,
            "passed_checkpoints": self.passed_checkpoints,
            "failed_checkpoints": self.failed_checkpoints,
            "checkpoint_pass_rate": stats.pass_rate(self.passed_checkpoints, checkpoints),
        }
        prefixes = {"pre_execution": "pre", "post_execution": "post", "on_demand": "on_demand"}
        for script_type, (total, ok, failed) in self.scripts.items():
            prefix = prefixes[script_type]
            values |= {
                f"total_{prefix}_scripts": total,
                f"passed_{prefix}_scripts": ok,
                f"failed_{prefix}_scripts": failed,
            }
        return values


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
        session.add(
            TestRunResult(
                id=result_id,
                test_run_id=start.run_id,
                test_run_item_id=start.item_id,
                test_case_id=start.test_case_id,
                status=ResultStatus.SKIPPED.value,
                started_at=now,
                total_steps=start.total_steps,
                retry_attempt=start.retry_attempt,
                iteration_number=start.iteration_number,
                data_row_index=None
                if start.iteration_number is None
                else start.iteration_number - 1,
                data_row_values=start.data_row_values,
                created_at=now,
            )
        )
        await session.flush()
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id == start.item_id)
            .values(current_step=0, total_steps=start.total_steps, updated_at=now)
        )
        await append_run_event(
            session,
            run_id=start.run_id,
            type="result.started",
            payload={
                "result_id": str(result_id),
                "item_id": str(start.item_id),
                "retry_attempt": start.retry_attempt,
                "iteration_number": start.iteration_number,
                "total_steps": start.total_steps,
            },
        )
    return result_id


async def set_vnc_url(
    sessions: Sessions, run_id: uuid.UUID, item_id: uuid.UUID, url: str | None
) -> None:
    """Publish where people can watch the item's browser."""
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


async def record_step(
    sessions: Sessions,
    *,
    run_id: uuid.UUID,
    item_id: uuid.UUID,
    result_id: uuid.UUID,
    step: dict[str, Any],
    checkpoint: dict[str, Any] | None,
    console: Sequence[dict[str, Any]],
    network: Sequence[dict[str, Any]],
) -> None:
    """Store one replayed step (with its checkpoint and logs) and move the item's progress."""
    step_id = uuid.uuid4()
    async with transaction(sessions) as session:
        await session.execute(
            insert(TestStepResult).values(id=step_id, test_run_result_id=result_id, **step)
        )
        if checkpoint is not None:
            await session.execute(
                insert(CheckpointResult).values(
                    test_run_result_id=result_id, test_step_result_id=step_id, **checkpoint
                )
            )
        if console:
            await session.execute(
                insert(ConsoleLog), [{"test_run_result_id": result_id, **row} for row in console]
            )
        if network:
            await session.execute(
                insert(NetworkLog), [{"test_run_result_id": result_id, **row} for row in network]
            )
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id == item_id)
            .values(current_step=step["step_number"], updated_at=datetime.now(UTC))
        )
        await append_run_event(
            session,
            run_id=run_id,
            type="step.completed",
            payload={
                "item_id": str(item_id),
                "result_id": str(result_id),
                "step_number": step["step_number"],
                "action": step["action"],
                "status": step["status"],
                "duration_ms": step["duration_ms"],
                "error_message": step.get("error_message"),
                "current_step": step["step_number"],
            },
        )


async def record_skipped_steps(
    sessions: Sessions, result_id: uuid.UUID, steps: Sequence[dict[str, Any]]
) -> None:
    """Store the steps a failure or a stop left unplayed, as `skipped`."""
    if not steps:
        return
    async with transaction(sessions) as session:
        await session.execute(
            insert(TestStepResult),
            [{"test_run_result_id": result_id, "status": "skipped", **step} for step in steps],
        )


async def record_script(sessions: Sessions, result_id: uuid.UUID, row: dict[str, Any]) -> None:
    """Store one script execution of a result."""
    async with transaction(sessions) as session:
        await session.execute(insert(ScriptResult).values(test_run_result_id=result_id, **row))


@dataclass(frozen=True, slots=True)
class ResultEnd:
    """How a result ended."""

    status: ResultStatus
    tally: ResultTally
    error_message: str | None = None
    error_step_number: int | None = None
    error_screenshot_path: str | None = None
    final_url: str | None = None
    initial_url: str | None = None
    pre_script_aborted: bool = False
    video_path: str | None = None
    trace_path: str | None = None


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
        values = end.tally.columns() | {
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
        }
        for name, value in values.items():
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


async def item_attempt(session: AsyncSession, item_id: uuid.UUID) -> int | None:
    """The item's current execution number, if it is running."""
    return await session.scalar(
        select(TestRunItem.attempt).where(
            TestRunItem.id == item_id, TestRunItem.status == ItemStatus.RUNNING
        )
    )
