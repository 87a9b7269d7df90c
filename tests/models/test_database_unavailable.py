"""Telling PostgreSQL being away from a bug, on errors the driver really raises."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.database import create_engine, database_unavailable
from server.embedded import free_port


async def test_a_server_nobody_listens_for_is_unavailable() -> None:
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/gone", pool_size=1)
    with pytest.raises(Exception) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    await engine.dispose()

    assert database_unavailable(raised.value)


async def test_a_statement_postgresql_refuses_is_no_outage(engine: AsyncEngine) -> None:
    with pytest.raises(Exception) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))

    assert not database_unavailable(raised.value)
    assert not database_unavailable(RuntimeError("a bug"))
