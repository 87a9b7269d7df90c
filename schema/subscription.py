"""The Subscription root: live runs for dashboards, over graphql-transport-ws."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Hashable

import strawberry

from resolvers.errors import ResolverError
from resolvers.events import LiveEvent
from resolvers.run_feeds import LiveRuns
from schema.context import Info
from schema.runs import TestRun
from schema.scalars import JSON


class LiveUnavailable(ResolverError):
    """This process serves no subscriptions (it has no event feed)."""

    code = "INTERNAL"


@strawberry.type(description="One entry of a run's event log: what changed, numbered per run.")
class RunEvent:
    """GraphQL view of a run event."""

    run_id: uuid.UUID = strawberry.field(description="Run it belongs to.")
    seq: int = strawberry.field(
        description="Position in the run's log, from 1 without gaps; resume with afterSeq."
    )
    type: str = strawberry.field(
        description="What happened, e.g. run.started, item.claimed, step.completed, "
        "item.updated, run.completed."
    )
    payload: JSON = strawberry.field(
        description="Details of the change, e.g. the step's number and status."
    )

    @classmethod
    def from_live(cls, event: LiveEvent) -> RunEvent:
        """Build from a published or logged event."""
        return cls(run_id=event.run_id, seq=event.seq, type=event.type, payload=JSON(event.payload))


@strawberry.type(description="A change to one of the project's runs, for list pages.")
class TestRunChange:
    """GraphQL view of a project's run event; `type` RESYNC means changes may be missed."""

    __test__ = False  # not a pytest class, despite its name
    run_id: uuid.UUID | None = strawberry.field(description="Run that changed; null on resync.")
    seq: int | None = strawberry.field(description="The event's `seq` in its run; null on resync.")
    type: str = strawberry.field(
        description="The event's type (e.g. run.started, run.completed), or `resync` when "
        "changes may have been missed: read the list again."
    )

    @strawberry.field(description="The run as stored after this change (null if deleted since).")
    async def run(self, info: Info) -> TestRun | None:
        """The run's snapshot, read once per change for every subscriber of this process."""
        if self.run_id is None:
            return None
        found = await _live(info).snapshot(self.run_id, seen_seq=self.seq)
        return None if found is None else TestRun.from_model(found)


RESYNC = TestRunChange(run_id=None, seq=None, type="resync")


@strawberry.type(description="Live updates; over WebSocket (graphql-transport-ws) only.")
class Subscription:
    """GraphQL Subscription root."""

    @strawberry.subscription(
        description="The whole run (counts, items with status, currentStep, totalSteps, "
        "vncUrl) at once and after every change; changes that come faster than the client "
        "reads are conflated into the latest. Stays open until the client leaves."
    )
    async def test_run_updates(
        self, info: Info, run_id: uuid.UUID
    ) -> AsyncGenerator[TestRun, None]:
        """Follow a run's snapshot."""
        runs = _live(info).updates(principal=info.context.principal, run_id=run_id)
        async for row in runs:
            yield TestRun.from_model(row)

    @strawberry.subscription(
        description="Every event of the run after `afterSeq` (0: from the start) in `seq` "
        "order, without gaps or duplicates, replayed from the log then live; completes after "
        "the event that ends the run."
    )
    async def test_run_events(
        self, info: Info, run_id: uuid.UUID, after_seq: int = 0
    ) -> AsyncGenerator[RunEvent, None]:
        """Follow a run's event log."""
        events = _live(info).events(
            principal=info.context.principal, run_id=run_id, after_seq=after_seq
        )
        async for event in events:
            yield RunEvent.from_live(event)

    @strawberry.subscription(
        description="A change of any run of the project, as it happens (for list pages)."
    )
    async def test_runs_changed(
        self, info: Info, project_id: uuid.UUID
    ) -> AsyncGenerator[TestRunChange, None]:
        """Follow the project's runs."""
        changes = _live(info).project_changes(
            principal=info.context.principal, project_id=project_id
        )
        async for event in changes:
            if event is None:
                yield RESYNC
            else:
                yield TestRunChange(run_id=event.run_id, seq=event.seq, type=event.type)


def _live(info: Info) -> LiveRuns:
    live = info.context.live
    if live is None:
        raise LiveUnavailable("Subscriptions are not available in this process")
    return live


# Subscriptions whose results are computed once for every subscriber of the same document,
# variables and project, with how many of the latest results one joining late is sent
# first: every event of a log (None), the newest snapshot of a run (1).
SHARED_SUBSCRIPTIONS: dict[str, int | None] = {"testRunEvents": None, "testRunUpdates": 1}


def live_key(value: object) -> Hashable | None:
    """What makes two yielded values give the same result, so it is computed once."""
    if isinstance(value, RunEvent):
        return ("event", value.run_id, value.seq)
    if isinstance(value, TestRun):
        return ("run", value.id, value.event_seq)
    if isinstance(value, TestRunChange):
        return ("change", value.run_id, value.seq, value.type)
    return None
