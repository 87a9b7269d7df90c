"""A run's append-only event log, and its publication to live subscribers after commit.

Every state change adds one event, numbered without gaps; once the transaction commits,
the process's publisher sends it to the run's channel and its project's channel.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import table_of
from models.database import after_commit, refresh_loaded
from models.runs import RunEvent, TestRun
from resolvers.fitting import fit_row
from resolvers.webhook_deliveries import RUN_ENDING_EVENTS, queue_run_ended

# Written with table statements: no ORM unit of work for what every step adds.
_RUNS = table_of(TestRun)
_EVENTS = table_of(RunEvent)
_INSERT_EVENTS = insert(_EVENTS)
# Takes `count` numbers after the run's last event: the new last one, and the run's project.
_NUMBER_EVENTS = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run_id"))
    .values(event_seq=_RUNS.c.event_seq + bindparam("count"), updated_at=bindparam("now"))
    .returning(_RUNS.c.event_seq, _RUNS.c.project_id)
)
_PUBLISHER = "testrun.event_publisher"
_UNPUBLISHED = "testrun.unpublished_events"
_BATCH = "testrun.batched_events"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A committed event as subscribers receive it: small, the log has the rest."""

    run_id: uuid.UUID
    project_id: uuid.UUID
    seq: int
    type: str
    payload: dict[str, Any]

    def encode(self) -> bytes:
        """The message published on Redis: `{run_id, project_id, seq, type, payload}`."""
        return json.dumps(
            {
                "run_id": str(self.run_id),
                "project_id": str(self.project_id),
                "seq": self.seq,
                "type": self.type,
                "payload": self.payload,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes | str) -> LiveEvent:
        """Read a published message; ValueError (or KeyError) when it is not one."""
        found = json.loads(data)
        return cls(
            run_id=uuid.UUID(found["run_id"]),
            project_id=uuid.UUID(found["project_id"]),
            seq=int(found["seq"]),
            type=str(found["type"]),
            payload=dict(found["payload"]),
        )

    @classmethod
    def from_row(cls, row: RunEvent, project_id: uuid.UUID) -> LiveEvent:
        """An event read back from the log."""
        return cls(row.test_run_id, project_id, row.seq, row.type, row.payload)


def run_channel(run_id: uuid.UUID) -> str:
    """The channel of one run's events (testRunUpdates, testRunEvents)."""
    return f"testrun:{run_id}"


def project_channel(project_id: uuid.UUID) -> str:
    """The channel of every run event of a project (list pages, testRunsChanged)."""
    return f"project:{project_id}:runs"


class EventPublisher(Protocol):
    """Where a process sends the events its transactions committed (Redis in production)."""

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Send the events in order. Never raises: the log has them, subscribers resync."""


def publish_committed_events(
    sessions: async_sessionmaker[AsyncSession], publisher: EventPublisher
) -> None:
    """Make every session of `sessions` hand the events it commits to `publisher`."""
    info = {**(sessions.kw.get("info") or {}), _PUBLISHER: publisher}
    sessions.configure(info=info)


async def append_run_event(
    session: AsyncSession, *, run_id: uuid.UUID, type: str, payload: dict[str, Any]
) -> RunEvent:
    """Add the run's next event in the caller's transaction; it is published after commit.

    Taking `seq` from `test_runs.event_seq` with one UPDATE locks the run row until commit,
    so concurrent writers get consecutive numbers and readers never see a gap. Inside
    `batched_run_events` the event is numbered and written when the block ends.
    """
    payload = fit_row(RunEvent, {"payload": payload})["payload"]
    event = RunEvent(test_run_id=run_id, type=type, payload=payload)
    batch: list[RunEvent] | None = session.info.get(_BATCH)
    if batch is not None:
        batch.append(event)
    else:
        await _write_events(session, [event])
    return event


@asynccontextmanager
async def batched_run_events(session: AsyncSession) -> AsyncIterator[None]:
    """Write the events the block appends with one numbering UPDATE and one INSERT per run.

    For a transaction that adds several events (a recorded step: its result's, its item's
    and its own) and already holds its run's lock, so numbering them at the end takes no
    lock the block did not have. Nothing is written when the block raises.
    """
    if _BATCH in session.info:  # an enclosing block writes them
        yield
        return
    batch: list[RunEvent] = []
    session.info[_BATCH] = batch
    try:
        yield
    finally:
        del session.info[_BATCH]
    await _write_events(session, batch)


async def _write_events(session: AsyncSession, events: Sequence[RunEvent]) -> None:
    """Number `events` after their runs' last events, add them, and publish them at commit."""
    runs: dict[uuid.UUID, list[RunEvent]] = {}
    for event in events:
        runs.setdefault(event.test_run_id, []).append(event)
    for run_id, appended in runs.items():
        now = datetime.now(UTC)
        numbered = (
            await session.execute(
                _NUMBER_EVENTS, {"run_id": run_id, "count": len(appended), "now": now}
            )
        ).one_or_none()
        if numbered is None:
            raise LookupError(f"no test run {run_id}")
        last, project_id = numbered
        refresh_loaded(session, TestRun, run_id, {"event_seq": last, "updated_at": now})
        for seq, event in enumerate(appended, start=last - len(appended) + 1):
            event.seq = seq
            _publish_after_commit(
                session, LiveEvent(run_id, project_id, seq, event.type, event.payload)
            )
        if any(event.type in RUN_ENDING_EVENTS for event in appended):
            # whoever ended it: the webhook hears of it
            await queue_run_ended(session, run_id=run_id, now=datetime.now(UTC))
    if events:
        await session.execute(
            _INSERT_EVENTS,
            [
                {
                    "test_run_id": event.test_run_id,
                    "seq": event.seq,
                    "type": event.type,
                    "payload": event.payload,
                }
                for event in events
            ],
        )


def _publish_after_commit(session: AsyncSession, event: LiveEvent) -> None:
    """Queue `event` for the session's publisher; one publication per transaction."""
    publisher: EventPublisher | None = session.info.get(_PUBLISHER)
    if publisher is None:  # a process without live subscribers (migrations, admin CLI)
        return
    unpublished: list[LiveEvent] | None = session.info.get(_UNPUBLISHED)
    if unpublished is None:
        unpublished = session.info[_UNPUBLISHED] = []

        async def publish() -> None:
            await publisher.publish(session.info.pop(_UNPUBLISHED, []))

        after_commit(session, publish)
    unpublished.append(event)


async def read_run_events(
    session: AsyncSession, *, run_id: uuid.UUID, after_seq: int, limit: int | None = None
) -> list[RunEvent]:
    """The run's events after `after_seq`, in `seq` order (at most `limit`)."""
    statement = (
        select(RunEvent)
        .where(RunEvent.test_run_id == run_id, RunEvent.seq > after_seq)
        .order_by(RunEvent.seq)
        .limit(limit)
    )
    return list(await session.scalars(statement))
