"""Run events are numbered per run without gaps, also under concurrent writers."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from models.runs import RunEvent, TestRun
from resolvers.events import append_run_event
from tests.factories import make_project, make_run, make_user


async def test_events_are_numbered_per_run(session: AsyncSession) -> None:
    project = await make_project(session)
    user = await make_user(session)
    first, second = await make_run(session, project, user), await make_run(session, project, user)

    for run in (first, second, first):
        await append_run_event(session, run_id=run.id, type="run.updated", payload={"n": 1})

    rows = (await session.execute(select(RunEvent.test_run_id, RunEvent.seq))).all()
    assert sorted(row.seq for row in rows if row.test_run_id == first.id) == [1, 2]
    assert [row.seq for row in rows if row.test_run_id == second.id] == [1]


async def test_concurrent_writers_get_consecutive_numbers(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(committing_session_factory) as session:
        run = await make_run(session, await make_project(session), await make_user(session))

    async def write(n: int) -> None:
        async with transaction(committing_session_factory) as session:
            await append_run_event(session, run_id=run.id, type="step", payload={"n": n})

    await asyncio.gather(*(write(n) for n in range(20)))

    async with committing_session_factory() as session:
        seqs = list(
            await session.scalars(select(RunEvent.seq).where(RunEvent.test_run_id == run.id))
        )
        last = await session.scalar(select(TestRun.event_seq).where(TestRun.id == run.id))
    assert sorted(seqs) == list(range(1, 21))
    assert last == 20
