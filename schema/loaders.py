"""Per-request batching: keys asked for in the same turn of the event loop are fetched together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WrongNumberOfValues(RuntimeError):
    """A batch function answered a different number of values than it was asked keys."""


class BatchLoader(Generic[K, V]):
    """Fetches the keys asked for in one turn of the event loop with one call, and keeps them.

    What Strawberry's DataLoader does, waiting on one future per batch instead of one per
    key: a run's items ask for their 100 test cases in one `load_many`, and a future per
    key costs two event-loop callbacks each, which was a sixth of the read path's time.
    A key asked for twice, in one call or in several, is fetched once per request.
    """

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        """Batch calls of `fetch`, which answers keys in the order it is given them."""
        self._fetch = fetch
        self._values: dict[K, V] = {}
        # Keys not answered yet, and the future of the batch that fetches them.
        self._pending: dict[K, asyncio.Future[None]] = {}
        # The batch still gathering keys in this turn of the loop, if any.
        self._gathering: tuple[list[K], asyncio.Future[None]] | None = None
        # Running fetches (the loop keeps only weak references to tasks).
        self._running: set[asyncio.Task[None]] = set()

    def prime(self, key: K, value: V) -> None:
        """Keep `value` as the value of `key`, read along with something else, unless known."""
        if key not in self._values and key not in self._pending:
            self._values[key] = value

    async def load(self, key: K) -> V:
        """The value of `key`."""
        return (await self.load_many((key,)))[0]

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        """The values of `keys`, in their order."""
        batches: list[asyncio.Future[None]] = []
        for key in keys:
            if key in self._values:
                continue
            batch = self._pending.get(key) or self._enqueue(key)
            if batch not in batches:
                batches.append(batch)
        for batch in batches:
            # Shielded: a cancelled caller must not cancel a batch others wait for.
            await asyncio.shield(batch)
        return [self._values[key] for key in keys]

    def _enqueue(self, key: K) -> asyncio.Future[None]:
        if self._gathering is None:
            loop = asyncio.get_running_loop()
            self._gathering = ([], loop.create_future())
            # Dispatched a turn later, as Strawberry's DataLoader does, so that every
            # resolver that runs in this turn adds its keys to the same batch.
            loop.call_soon(self._dispatch)
        keys, batch = self._gathering
        keys.append(key)
        self._pending[key] = batch
        return batch

    def _dispatch(self) -> None:
        assert self._gathering is not None
        keys, batch = self._gathering
        self._gathering = None
        task = asyncio.ensure_future(self._run(keys, batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, keys: list[K], batch: asyncio.Future[None]) -> None:
        try:
            values = await self._fetch(keys)
            if len(values) != len(keys):
                raise WrongNumberOfValues(f"asked {len(keys)} keys, answered {len(values)}")
            self._values.update(zip(keys, values, strict=True))
        except BaseException as error:
            # Not cached: a later load asks again.
            if isinstance(error, asyncio.CancelledError):
                batch.cancel()
            else:
                batch.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            batch.set_result(None)
        finally:
            for key in keys:
                self._pending.pop(key, None)
