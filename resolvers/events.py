"""A run's append-only event log: every state change adds one, numbered without gaps."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.runs import RunEvent, TestRun


async def append_run_event(
    session: AsyncSession, *, run_id: uuid.UUID, type: str, payload: dict[str, Any]
) -> RunEvent:
    """Add the run's next event in the caller's transaction.

    Taking `seq` from `test_runs.event_seq` with one UPDATE locks the run row until commit,
    so concurrent writers get consecutive numbers and readers never see a gap.
    """
    seq = await session.scalar(
        update(TestRun)
        .where(TestRun.id == run_id)
        .values(event_seq=TestRun.event_seq + 1)
        .returning(TestRun.event_seq)
    )
    if seq is None:
        raise LookupError(f"no test run {run_id}")
    event = RunEvent(test_run_id=run_id, seq=seq, type=type, payload=payload)
    session.add(event)
    await session.flush()
    return event
