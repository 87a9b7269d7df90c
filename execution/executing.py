"""The items a worker executes: one heartbeat for all of them, and their stops off the event bus.

A stop (or the reaper taking an item away) is committed in PostgreSQL and published on
the run's channel. The worker listens to the channel of every run it executes items of,
once per run, and stops those items the moment the event arrives. One loop per worker
writes the heartbeat of all its items in one statement every `heartbeat_every`; an item
it finds no longer its own is stopped too, so a stop whose message was lost (Redis away)
still lands within one heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

from execution.claims import Claim, beat
from execution.recording import Sessions
from models.database import transaction
from resolvers.events import LiveEvent, run_channel
from resolvers.run_feeds import FINAL_EVENT_TYPES, EventFeed

logger = logging.getLogger(__name__)

# Events that take one item away from the execution that had it (the reaper's).
ITEM_TAKEN_EVENT_TYPES = frozenset({"item.requeued", "item.lost"})


@dataclass(frozen=True, slots=True)
class Execution:
    """One item this worker executes, and the event that stops it."""

    claim: Claim
    run_id: uuid.UUID
    stop: asyncio.Event = field(default_factory=asyncio.Event, compare=False)


class ExecutingItems:
    """What a worker executes now; see the module's docstring.

    `feed` is the process's event bus (Redis, or in memory in inline mode); without one,
    items notice a stop only through the heartbeat.
    """

    def __init__(
        self,
        sessions: Sessions,
        *,
        worker: str,
        heartbeat_every: timedelta,
        feed: EventFeed | None,
    ) -> None:
        """Nothing runs until the first item is executing."""
        self.sessions = sessions
        self.worker = worker
        self.heartbeat_every = heartbeat_every
        self.feed = feed
        self._items: dict[uuid.UUID, Execution] = {}
        self._followed: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._beat_now = asyncio.Event()

    @contextlib.asynccontextmanager
    async def executing(self, claim: Claim, run_id: uuid.UUID) -> AsyncIterator[asyncio.Event]:
        """The item is executing for the block: yields the event that says it must stop."""
        execution = Execution(claim, run_id)
        self._items[claim.item_id] = execution
        if self.feed is None:
            self._poke()  # its first beat: `claimed_by` names this worker
        elif run_id not in self._followed:
            self._followed[run_id] = asyncio.create_task(
                self._follow(self.feed, run_id),
                name=f"follow run {run_id}",
                context=contextvars.Context(),  # the worker's: no item's log context
            )
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(
                self._beat_forever(), name="heartbeat", context=contextvars.Context()
            )
        try:
            yield execution.stop
        finally:
            if self._items.get(claim.item_id) is execution:
                del self._items[claim.item_id]
            if not self._items:
                self._poke()  # the heartbeat loop ends rather than wait out its period
            if not any(item.run_id == run_id for item in self._items.values()):
                follower = self._followed.pop(run_id, None)
                if follower is not None:
                    follower.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await follower

    def _stopping(self, run_id: uuid.UUID, event: LiveEvent) -> list[Execution]:
        """The items of `run_id` that `event`, heard on its channel, takes from this worker."""
        if event.type in FINAL_EVENT_TYPES:
            return [item for item in self._items.values() if item.run_id == run_id]
        if event.type in ITEM_TAKEN_EVENT_TYPES:
            taken = (event.payload.get("id"), event.payload.get("attempt"))
            return [
                item
                for item in self._items.values()
                if item.run_id == run_id and (str(item.claim.item_id), item.claim.attempt) == taken
            ]
        return []

    def followed_runs(self) -> int:
        """How many runs' channels this worker listens to now."""
        return len(self._followed)

    async def _follow(self, feed: EventFeed, run_id: uuid.UUID) -> None:
        """Stop this worker's items of the run when the bus says they must stop."""
        try:
            async with feed.subscribe(run_channel(run_id)) as events:
                # Listening from now on: a stop committed before is in the database. This
                # beat also names this worker in `claimed_by` of the run's first item here.
                self._poke()
                while True:
                    event = await events.next()
                    if event is None:  # events may have been lost: the database says
                        self._poke()
                        continue
                    for item in self._stopping(run_id, event):
                        logger.info("item %s stopped by %s", item.claim.item_id, event.type)
                        item.stop.set()
        except Exception:  # a bug here must not stop the items: the heartbeat still stops them
            logger.exception("following run %s failed; its stops come with the heartbeat", run_id)

    def _poke(self) -> None:
        """Beat at once rather than at the next period (pokes in between make one beat)."""
        self._beat_now.set()

    async def _beat_forever(self) -> None:
        """Heartbeat every executing item, and stop those no longer this worker's."""
        while self._items:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), self.heartbeat_every.total_seconds())
            self._beat_now.clear()
            executing = list(self._items.values())
            if not executing:
                break
            try:
                async with transaction(self.sessions) as session:
                    own = await beat(
                        session, [item.claim for item in executing], worker=self.worker
                    )
            except Exception as error:  # the database blinked: try again on the next beat
                logger.warning("heartbeat failed: %s", error)
                continue
            for item in executing:
                if item.claim not in own and not item.stop.is_set():
                    logger.info("item %s is no longer this worker's; stopping", item.claim.item_id)
                    item.stop.set()
