"""The async engine and session factory, and transactions that run effects after commit."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from asyncpg import exceptions as asyncpg_errors
from sqlalchemy import Update, bindparam, event, update
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models.base import Base, table_of

Effect = Callable[[], Awaitable[None]]
_EFFECTS = "testrun.after_commit"
# What asyncpg raises when PostgreSQL is down, starting, stopping or out of connections.
_UNREACHABLE = (
    ConnectionError,
    PoolTimeout,
    asyncpg_errors.PostgresConnectionError,
    asyncpg_errors.CannotConnectNowError,
    asyncpg_errors.AdminShutdownError,
    asyncpg_errors.CrashShutdownError,
    asyncpg_errors.TooManyConnectionsError,
)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says PostgreSQL cannot be reached right now, rather than a bug.

    Connecting to a stopped server raises the socket's error as is; a connection lost in
    the middle of a statement arrives wrapped by SQLAlchemy, which marks it invalidated.
    """
    if isinstance(error, _UNREACHABLE):
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error.orig, _UNREACHABLE)
    return False


def async_url(url: str) -> str:
    """The URL with the asyncpg driver, whatever PostgreSQL scheme it was written with."""
    for scheme in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url[len(scheme) :]
    return url


# A pooled connection unused for longer than this is pinged before it is used again.
PING_AFTER_IDLE_S = 1.0
_RETURNED_AT = "testrun.returned_at"


def _check_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Replace a pooled connection that no longer works before anyone uses it.

    What SQLAlchemy's `pool_pre_ping` does, without its price on the read path: with
    asyncpg it asks PostgreSQL in three round trips (BEGIN, ";", ROLLBACK) on every
    checkout, as many as the statements of a whole GraphQL read. A connection that
    PostgreSQL closed (a restart, a terminated backend) is known closed to asyncpg without
    asking; one that sat idle may have been dropped silently on the way (a proxy's idle
    timeout), so it is pinged as before.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("PostgreSQL closed the connection")
    returned_at = record.info.get(_RETURNED_AT)
    if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise DisconnectionError(f"ping failed: {error}") from error


def _returned(dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str | None = None
) -> AsyncEngine:
    """An engine for the PostgreSQL at `url`; connections are checked before use.

    At most `2 * pool_size` connections are open; `application_name` names them in
    `pg_stat_activity`.
    """
    connect_args: dict[str, Any] = {}
    if application_name:
        connect_args["server_settings"] = {"application_name": application_name}
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
    )
    # Connections are checked before use (see `_check_out`); a new one is not.
    event.listen(engine.sync_engine.pool, "connect", _returned)
    event.listen(engine.sync_engine.pool, "checkin", _returned)
    event.listen(engine.sync_engine.pool, "checkout", _check_out)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so callers can read what they wrote."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads that need no transaction: each statement runs on its own.

    Under PostgreSQL's READ COMMITTED every statement takes its own snapshot even inside
    a transaction, so wrapping reads in one bought nothing but the round trips of its BEGIN
    and ROLLBACK. Anything that writes more than one row or locks belongs in `transaction`.
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


async def update_row(
    session: AsyncSession, model: type[Base], row_id: uuid.UUID, values: Mapping[str, Any]
) -> None:
    """Write `values` to one row with a table UPDATE, and to its object if the session has it.

    For what every recorded step writes: the ORM's bulk UPDATE does a good deal of work per
    statement that a table UPDATE does not. A row with `updated_at` gets it set here too.
    """
    if "updated_at" in table_of(model).c:
        values = {**values, "updated_at": datetime.now(UTC)}
    names = tuple(values)
    await session.execute(
        _row_update(model, names), {"row_id": row_id} | {f"new_{n}": values[n] for n in names}
    )
    refresh_loaded(session, model, row_id, values)


def refresh_loaded(
    session: AsyncSession, model: type[Base], row_id: uuid.UUID, values: Mapping[str, Any]
) -> None:
    """Tell the session's object of that row, if it has one, what a table statement wrote."""
    loaded = session.identity_map.get(identity_key(model, row_id))
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)


@functools.cache
def _row_update(model: type[Base], names: tuple[str, ...]) -> Update:
    """`update_row`'s statement for these columns, built once."""
    table = table_of(model)
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )


def after_commit(session: AsyncSession, effect: Effect) -> None:
    """Run `effect` once the session's transaction has committed (never if it rolls back).

    For what must not happen before the data is visible: enqueueing work, publishing events.
    """
    session.info.setdefault(_EFFECTS, []).append(effect)


@asynccontextmanager
async def transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on error.

    Effects registered with `after_commit` run in order after the commit.
    """
    async with session_factory() as session:
        async with session.begin():
            yield session
        effects: list[Effect] = session.info.pop(_EFFECTS, [])
    for effect in effects:
        await effect()
