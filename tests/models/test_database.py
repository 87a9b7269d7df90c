"""Read sessions run each statement on its own; transactions hold theirs together."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.database import (
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
