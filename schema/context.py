"""What every GraphQL resolver gets in `info.context`: the caller, the database, the loaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from models.database import transaction
from resolvers.dispatch import RunDispatcher
from resolvers.errors import Unauthenticated
from resolvers.tokens import Principal

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
BatchLoad = Callable[[AsyncSession, Sequence[K]], Awaitable[Sequence[V]]]


@dataclass(slots=True)
class Context:
    """Per-request context, built by the transport from the authenticated request.

    Database work of one request is serialized by a lock: GraphQL resolves sibling fields
    concurrently, and the DataLoaders keep the number of statements constant anyway.
    Never await a loader while holding `session()` or `transaction()`: that deadlocks.
    """

    session_factory: async_sessionmaker[AsyncSession]
    caller: Principal | None
    dispatcher: RunDispatcher
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        """The authenticated caller; only the GraphiQL page is served without one."""
        if self.caller is None:
            raise Unauthenticated("Not authenticated")
        return self.caller

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads."""
        async with self._lock, self.session_factory() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed at the end (then its after-commit effects)."""
        async with self._lock, transaction(self.session_factory) as session:
            yield session

    def loader(self, batch: BatchLoad[K, V]) -> DataLoader[K, V]:
        """This request's DataLoader for `batch`, which answers keys in their order."""
        existing = self._loaders.get(batch)
        if existing is None:

            async def load(keys: list[K]) -> Sequence[V]:
                async with self.session() as session:
                    return await batch(session, keys)

            existing = DataLoader(load_fn=load)
            self._loaders[batch] = existing
        return existing


Info = strawberry.Info[Context, None]
