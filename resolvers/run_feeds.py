"""What live subscribers of runs receive: every event in order, run snapshots, project changes.

Events reach a process through an `EventFeed` (Redis pub/sub in the api); the log in
PostgreSQL stays the source of truth, so whatever a feed misses (a slow subscriber, Redis
restarting) is read back from it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import FINAL_RUN_STATUSES
from models.runs import TestRun
from resolvers.errors import NotFound, ValidationFailed
from resolvers.events import LiveEvent, project_channel, read_run_events, run_channel
from resolvers.runs import read_test_run
from resolvers.tokens import Principal

# Event types after which a run never changes status again: testRunEvents ends there.
FINAL_EVENT_TYPES = frozenset({"run.completed", "run.cancelled", "run.failed"})
# Events read from the log at once when a subscriber catches up.
BACKLOG_PAGE = 500
# Runs whose latest snapshot a process keeps for its subscribers.
SNAPSHOTS_KEPT = 1024


class EventStream(Protocol):
    """One subscriber's view of a channel, in the order the feed received the events."""

    async def next(self) -> LiveEvent | None:
        """The next event, or None when events may have been missed (read the log)."""

    def ready(self) -> bool:
        """Whether `next()` would return at once."""


class EventFeed(Protocol):
    """Live events of this process, by channel (see `resolvers.events.run_channel`)."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[EventStream]:
        """Listen to `channel`; on entry, every event published from now on is received."""


@dataclass
class LiveRuns:
    """The live side of runs in one api process, shared by all its subscribers.

    Snapshots of a run are read once per change and shared: a thousand dashboards on one
    run cost one SELECT per event, not a thousand.
    """

    sessions: async_sessionmaker[AsyncSession]
    feed: EventFeed
    _snapshots: OrderedDict[uuid.UUID, tuple[int, asyncio.Task[TestRun | None]]] = field(
        default_factory=OrderedDict
    )

    async def events(
        self, *, principal: Principal, run_id: uuid.UUID, after_seq: int
    ) -> AsyncIterator[LiveEvent]:
        """Every event of the run after `after_seq`, in order, once; ends with the run."""
        if after_seq < 0:
            raise ValidationFailed.of("after_seq", "Must be 0 or more")
        async with self.feed.subscribe(run_channel(run_id)) as stream:
            # Subscribed first, then read: an event is either in the log or still to come.
            run = await self._authorized_run(principal, run_id)
            project_id, last, caught_up = run.project_id, after_seq, False
            while True:
                if not caught_up:
                    batch = await self._backlog(run_id, project_id, last)
                    caught_up = len(batch) < BACKLOG_PAGE
                else:
                    received = await stream.next()
                    if received is not None and received.seq <= last:
                        continue  # already read from the log
                    if received is None or received.seq > last + 1:
                        caught_up = False  # missed some (a gap, or the feed lost track)
                        continue
                    batch = [received]
                for event in batch:
                    yield event
                    last = event.seq
                    if event.type in FINAL_EVENT_TYPES:
                        return
                if caught_up and run.status in FINAL_RUN_STATUSES:
                    return

    async def updates(self, *, principal: Principal, run_id: uuid.UUID) -> AsyncIterator[TestRun]:
        """The run now, then after every change; changes that come faster are conflated."""
        async with self.feed.subscribe(run_channel(run_id)) as stream:
            run = await self._authorized_run(principal, run_id)
            yield run
            while True:
                seen = await _newest_seq(stream)
                if seen is not None and seen <= run.event_seq:
                    continue
                fresh = await self.snapshot(run_id, seen_seq=seen)
                if fresh is not None and fresh.event_seq > run.event_seq:
                    run = fresh
                    yield run

    async def project_changes(
        self, *, principal: Principal, project_id: uuid.UUID
    ) -> AsyncIterator[LiveEvent | None]:
        """Every event of the project's runs as it happens; None when some may be missed."""
        if project_id != principal.project_id:
            raise NotFound.of("Project", project_id)
        async with self.feed.subscribe(project_channel(project_id)) as stream:
            while True:
                yield await stream.next()

    async def snapshot(self, run_id: uuid.UUID, *, seen_seq: int | None) -> TestRun | None:
        """The run as stored once event `seen_seq` committed (None: as stored now).

        A read that started after the process received `seen_seq` is shared.
        """
        kept = self._snapshots.get(run_id)
        if seen_seq is not None and kept is not None and kept[0] >= seen_seq:
            reading = kept[1]
            if not reading.done() or (not reading.cancelled() and reading.exception() is None):
                return await asyncio.shield(reading)
        read = asyncio.create_task(self._read_run(run_id))
        if seen_seq is not None:
            self._snapshots[run_id] = (seen_seq, read)
            self._snapshots.move_to_end(run_id)
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                self._snapshots.popitem(last=False)
        return await asyncio.shield(read)

    async def _read_run(self, run_id: uuid.UUID) -> TestRun | None:
        async with self.sessions() as session:
            return await session.get(TestRun, run_id)

    async def _authorized_run(self, principal: Principal, run_id: uuid.UUID) -> TestRun:
        async with self.sessions() as session:
            return await read_test_run(session, principal=principal, run_id=run_id)

    async def _backlog(
        self, run_id: uuid.UUID, project_id: uuid.UUID, after_seq: int
    ) -> list[LiveEvent]:
        async with self.sessions() as session:
            rows = await read_run_events(
                session, run_id=run_id, after_seq=after_seq, limit=BACKLOG_PAGE
            )
        return [LiveEvent.from_row(row, project_id) for row in rows]


async def _newest_seq(stream: EventStream) -> int | None:
    """Wait for a change, take every change already queued: the newest seq, None if unknown."""
    newest: int | None = 0
    while True:
        received = await stream.next()
        if received is None:
            newest = None
        elif newest is not None:
            newest = max(newest, received.seq)
        if not stream.ready():
            return newest
