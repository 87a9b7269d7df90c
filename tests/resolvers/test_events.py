"""Run events are numbered per run without gaps, also under concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from models.runs import RunEvent, TestRun
from resolvers.events import append_run_event, batched_run_events
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


async def test_a_batch_numbers_its_events_in_order_with_concurrent_writers(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Batched events (a recorded step's) interleave with single ones without gaps or swaps."""
    async with transaction(committing_session_factory) as session:
        project, user = await make_project(session), await make_user(session)
        run, other = await make_run(session, project, user), await make_run(session, project, user)

    async def batch(n: int) -> None:
        async with transaction(committing_session_factory) as session, batched_run_events(session):
            for part in ("a", "b", "c"):
                await append_run_event(
                    session, run_id=run.id, type="step", payload={"n": n, "part": part}
                )
            await append_run_event(session, run_id=other.id, type="step", payload={"n": n})

    async def single(n: int) -> None:
        async with transaction(committing_session_factory) as session:
            await append_run_event(session, run_id=run.id, type="single", payload={"n": n})

    await asyncio.gather(*(batch(n) for n in range(10)), *(single(n) for n in range(10)))

    async with committing_session_factory() as session:
        events = list(
            await session.scalars(
                select(RunEvent).where(RunEvent.test_run_id == run.id).order_by(RunEvent.seq)
            )
        )
        others = list(
            await session.scalars(select(RunEvent.seq).where(RunEvent.test_run_id == other.id))
        )
    assert [event.seq for event in events] == list(range(1, 41))
    assert sorted(others) == list(range(1, 11))
    batched = [event for event in events if event.type == "step"]
    for n in range(10):  # each batch's events are consecutive, in the order appended
        mine = [event for event in batched if event.payload["n"] == n]
        assert [event.payload["part"] for event in mine] == ["a", "b", "c"]
        assert mine[2].seq - mine[0].seq == 2


async def test_a_batch_that_raises_writes_no_event(session: AsyncSession) -> None:
    run = await make_run(session, await make_project(session), await make_user(session))

    with contextlib.suppress(RuntimeError):
        async with batched_run_events(session):
            await append_run_event(session, run_id=run.id, type="step", payload={})
            raise RuntimeError("the step could not be stored")
    await append_run_event(session, run_id=run.id, type="after", payload={})

    rows = (await session.execute(select(RunEvent.seq, RunEvent.type))).all()
    assert [tuple(row) for row in rows] == [(1, "after")]
