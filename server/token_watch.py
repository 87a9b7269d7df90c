"""Closing WebSockets whose token stops working: one query per interval for the whole process.

A connection registers the token it authenticated with; every `token_recheck_s` the
watch asks PostgreSQL which of the registered tokens still open the API, and closes the
connections of those that do not (revoked, expired or deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.api_tokens import usable_tokens

logger = logging.getLogger(__name__)

Close = Callable[[], Awaitable[None]]


class TokenWatch:
    """The open connections of this process by token, checked together every interval."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, interval_s: float) -> None:
        self._sessions = sessions
        self.interval_s = interval_s
        self._watched: dict[uuid.UUID, dict[object, Close]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, token_id: uuid.UUID, close: Close) -> Callable[[], None]:
        """Call `close` once the token stops working; returns the function that stops watching."""
        key = object()
        self._watched.setdefault(token_id, {})[key] = close
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._check_forever())

        def unwatch() -> None:
            closes = self._watched.get(token_id, {})
            closes.pop(key, None)
            if not closes:
                self._watched.pop(token_id, None)

        return unwatch

    async def _check_forever(self) -> None:
        while self._watched:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:  # the database may be briefly away: try again next time
                logger.exception("could not re-check the tokens of open connections")

    async def check(self) -> None:
        """Close the connections of every registered token that no longer opens the API."""
        watched = list(self._watched)
        if not watched:
            return
        async with self._sessions() as session:
            usable = await usable_tokens(session, watched, now=datetime.now(UTC))
        for token_id in watched:
            if token_id in usable:
                continue
            for close in list(self._watched.pop(token_id, {}).values()):
                with contextlib.suppress(Exception):
                    await close()

    async def aclose(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
