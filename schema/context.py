"""What every GraphQL resolver gets in `info.context`: the caller, the database, the loaders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import SchemaExtension

from models.database import transaction
from resolvers.artifacts import ArtifactLinks
from resolvers.dead_letters import DeadLetterBox
from resolvers.dispatch import RunDispatcher
from resolvers.errors import Unauthenticated
from resolvers.flakiness import DEFAULT_FLAKY_WINDOW
from resolvers.run_feeds import LiveRuns
from resolvers.tokens import Principal
from schema.loaders import BatchLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)
V_co = TypeVar("V_co", covariant=True)
# What a column loader is told to read: a tuple of names, or a tuple of such per table.
C = TypeVar("C", bound=Hashable)
C_contra = TypeVar("C_contra", bound=Hashable, contravariant=True)
BatchLoad = Callable[[AsyncSession, Sequence[K]], Awaitable[Sequence[V]]]


class ColumnBatchLoad(Protocol[K_contra, V_co, C_contra]):
    """A batch function answering rows of the columns it is given (`resolvers.batches`)."""

    def __call__(  # noqa: D102 (the class says it)
        self, session: AsyncSession, keys: Sequence[K_contra], /, *, columns: C_contra
    ) -> Awaitable[Sequence[V_co]]: ...


@dataclass(slots=True)
class Context:
    """Per-request context, built by the transport from the authenticated request.

    Database work of one request is serialized by a lock: GraphQL resolves sibling fields
    concurrently, and the loaders keep the number of statements constant anyway.
    Never await a loader while holding `session()` or `transaction()`: that deadlocks.

    Reads share one session (one pooled connection) per operation, closed by `close()`
    when the operation ends and before any write transaction begins, so a write never
    runs beside an open read transaction of the same request.
    """

    session_factory: async_sessionmaker[AsyncSession]
    caller: Principal | None
    dispatcher: RunDispatcher
    # The process's live runs, for subscriptions; None where nothing is served live.
    live: LiveRuns | None = None
    # Sessions for reads, outside any transaction; None reads through `session_factory`.
    read_session_factory: async_sessionmaker[AsyncSession] | None = None
    # How many recent executions decide whether a test case is flaky (TESTRUN_FLAKY_WINDOW).
    flaky_window: int = DEFAULT_FLAKY_WINDOW
    # Where the broker keeps dead letters; None where there is no broker.
    dead_letters: DeadLetterBox | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: dict[Hashable, BatchLoader[Any, Any]] = field(default_factory=dict)
    # The operation's read session while one is open; the transport may hand in the one
    # the request was authenticated with.
    reads: AsyncSession | None = None
    # Signs the artifact and live view URLs the operation answers; None answers none.
    links: ArtifactLinks | None = None

    @property
    def principal(self) -> Principal:
        """The authenticated caller; only the GraphiQL page is served without one."""
        if self.caller is None:
            raise Unauthenticated("Not authenticated")
        return self.caller

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The operation's session for reads; a failed read discards it."""
        async with self._lock:
            if self.reads is None:
                self.reads = (self.read_session_factory or self.session_factory)()
            try:
                yield self.reads
            except BaseException:
                await self._close_reads()
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed at the end (then its after-commit effects)."""
        async with self._lock:
            await self._close_reads()
            async with transaction(self.session_factory) as session:
                yield session

    async def close(self) -> None:
        """Give back the read session's connection and let go of what the loaders hold.

        The loaders and the context refer to each other; without this, the rows they keep
        (hundreds per request) would wait for the garbage collector instead of going as
        soon as the response is built, and its collections would grow to tens of ms.
        """
        async with self._lock:
            await self._close_reads()
            self._loaders.clear()

    async def _close_reads(self) -> None:
        reads, self.reads = self.reads, None
        if reads is not None:
            await reads.close()

    def artifact_url(self, stored: str | None, *, owner: uuid.UUID) -> str | None:
        """The signed, expiring URL of a file of the row `owner` (see `ArtifactLinks`)."""
        return None if self.links is None else self.links.artifact(stored, owner=owner)

    def live_view_url(self, stored: str | None, *, item_id: uuid.UUID) -> str | None:
        """The item's live view URL, signed with an expiry now."""
        return None if self.links is None else self.links.live_view(stored, item_id=item_id)

    def loader(self, batch: BatchLoad[K, V]) -> BatchLoader[K, V]:
        """This request's loader for `batch`, which answers keys in their order."""
        existing = self._loaders.get(batch)
        if existing is None:

            async def load(keys: list[K]) -> Sequence[V]:
                async with self.session() as session:
                    return await batch(session, keys)

            existing = BatchLoader(load)
            self._loaders[batch] = existing
        return existing

    def column_loader(self, batch: ColumnBatchLoad[K, V, C], columns: C) -> BatchLoader[K, V]:
        """This request's loader for `batch` reading `columns`: one per set of columns."""
        existing = self._loaders.get((batch, columns))
        if existing is None:

            async def load(keys: list[K]) -> Sequence[V]:
                async with self.session() as session:
                    return await batch(session, keys, columns=columns)

            existing = BatchLoader(load)
            self._loaders[(batch, columns)] = existing
        return existing


class ReleaseReads(SchemaExtension):
    """Gives back an operation's read connection as soon as the operation ends."""

    async def on_operation(self) -> AsyncIterator[None]:
        """Close the context's read session after the operation."""
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.close()


Info = strawberry.Info[Context, None]
