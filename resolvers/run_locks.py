"""Run locking: every change of a run first takes the run's row lock, so changes never interleave.

Requests lock a run of the caller's project (`lock_test_run`); the engine locks a run only
while it is running (`lock_running_run`), since a stopped run takes no more executions.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import RunStatus
from models.runs import TestRun
from resolvers.errors import InvalidState, NotFound
from resolvers.tokens import Principal


def scoped_runs(principal: Principal) -> Select[TestRun]:
    """Runs of the caller's project: the start of every run query."""
    return select(TestRun).where(TestRun.project_id == principal.project_id)


async def lock_test_run(
    session: AsyncSession, *, principal: Principal, run_id: uuid.UUID
) -> TestRun:
    """The caller's project's run, locked until the transaction ends; NotFound otherwise."""
    run = await session.scalar(
        scoped_runs(principal)
        .where(TestRun.id == run_id)
        .with_for_update()
        # Another statement of this transaction may have loaded the row before it was locked.
        .execution_options(populate_existing=True)
    )
    if run is None:
        raise NotFound.of("Test run", run_id)
    return run


def require_pending(run: TestRun, action: str) -> None:
    """InvalidState naming the run's status unless the run has not started."""
    if run.status != RunStatus.PENDING:
        raise InvalidState.of(action, run.status)


async def lock_running_run(session: AsyncSession, run_id: uuid.UUID) -> TestRun | None:
    """The run, locked, if it is running; None for a run that is gone or no longer running."""
    return await session.scalar(
        select(TestRun)
        .where(TestRun.id == run_id, TestRun.status == RunStatus.RUNNING)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
