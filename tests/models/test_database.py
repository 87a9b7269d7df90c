"""Read sessions run each statement on its own; transactions hold theirs together; pooled
connections that stopped working are replaced before use."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.database import (
    PING_AFTER_IDLE_S,
    create_engine,
    create_read_session_factory,
    create_session_factory,
    transaction,
)


async def start_times(session: AsyncSession) -> set[object]:
    """`now()` twice, 20 ms apart: it is the start time of the statement's transaction."""
    first = await session.scalar(text("SELECT now()"))
    await asyncio.sleep(0.02)
    second = await session.scalar(text("SELECT now()"))
    return {first, second}


async def test_each_statement_of_a_read_session_is_its_own_transaction(
    engine: AsyncEngine,
) -> None:
    async with create_read_session_factory(engine)() as session:
        assert len(await start_times(session)) == 2
    async with transaction(create_session_factory(engine)) as session:
        assert len(await start_times(session)) == 1


async def test_the_connection_of_a_read_session_goes_back_to_transactions(
    migrated_database_url: str,
) -> None:
    engine = create_engine(migrated_database_url, pool_size=1)  # one connection, reused
    try:
        async with create_read_session_factory(engine)() as session:
            await session.execute(text("SELECT 1"))
        async with transaction(create_session_factory(engine)) as session:
            assert len(await start_times(session)) == 1
    finally:
        await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with create_read_session_factory(engine)() as session:
        pid: int = await session.scalar(text("SELECT pg_backend_pid()"))
        return pid


async def terminate(database_url: str, pid: int) -> None:
    """Have PostgreSQL end backend `pid`, and wait until it is gone."""
    admin = create_engine(database_url, pool_size=1)
    async with admin.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # a backend ends within milliseconds of being told to
            gone = await other.scalar(
                text("SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = :pid)"),
                {"pid": pid},
            )
            if gone:
                break
            await asyncio.sleep(0.01)
    await admin.dispose()
    assert gone, f"backend {pid} did not end"


async def test_a_pooled_connection_postgresql_ended_is_replaced_before_it_is_used(
    migrated_database_url: str,
) -> None:
    engine = create_engine(migrated_database_url, pool_size=1)  # one connection, reused
    try:
        first = await backend_pid(engine)
        assert await backend_pid(engine) == first  # reused while it works

        await terminate(migrated_database_url, first)

        # Used again at once, well within PING_AFTER_IDLE_S: still a working connection.
        second = await backend_pid(engine)
        assert second != first
        assert await backend_pid(engine) == second
    finally:
        await engine.dispose()


async def test_a_pooled_connection_idle_for_a_while_is_pinged_and_kept_when_it_works(
    migrated_database_url: str,
) -> None:
    engine = create_engine(migrated_database_url, pool_size=1)
    try:
        first = await backend_pid(engine)
        await asyncio.sleep(PING_AFTER_IDLE_S * 1.1)
        assert await backend_pid(engine) == first
    finally:
        await engine.dispose()
