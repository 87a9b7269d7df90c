"""Alembic environment: migrates `models.Base.metadata` over asyncpg, or on a given connection."""

from __future__ import annotations

import asyncio
import logging
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import models
from models.database import async_url

config = context.config
target_metadata = models.Base.metadata

if config.cmd_opts is not None:
    # The configuration lives in pyproject.toml, which has no logging section; without this
    # the CLI would migrate silently.
    logging.basicConfig(format="%(levelname)-5.5s [%(name)s] %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)


def database_url() -> str:
    """The asyncpg URL to migrate: `sqlalchemy.url` if set, else `DATABASE_URL`."""
    # get_section, not get_main_option: the CLI reads pyproject.toml and has no ini section.
    options = config.get_section(config.config_ini_section, {})
    url = options.get("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError(
            "No database to migrate: set DATABASE_URL (postgresql+asyncpg://USER:PASS@HOST/DB) "
            "or the sqlalchemy.url option of the Alembic config."
        )
    return async_url(url)


def run_migrations_offline() -> None:
    """Write the migrations' SQL to the output (`alembic upgrade --sql`) instead of running it."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    """Run the migrations on a sync connection, in its transaction if it already has one."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_async() -> None:
    """Run the migrations over a single asyncpg connection, then close it."""
    # NullPool: a one-shot process has no use for pooled connections left open.
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations_on)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Run on the connection the caller put in `config.attributes`, or open one."""
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_migrations_async())
    elif isinstance(connection, Connection):
        run_migrations_on(connection)
    else:
        raise TypeError(
            "config.attributes['connection'] must be a sync Connection; from async code pass "
            f"the one `AsyncConnection.run_sync` gives, not {type(connection).__name__}"
        )


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
