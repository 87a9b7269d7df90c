"""The reaper: nothing stays `running` or `queued` forever.

It hands items whose worker went silent to a new execution (or fails them after
MAX_EXECUTIONS), closes the results such an execution left open, and dispatches again
runs whose queued items nobody executes (a start message lost between commit and broker).
Under the global cap (TESTRUN_MAX_RUNNING_ITEMS) it gives the slots that lost executions
freed to waiting items, never beyond the cap; a run all of whose items wait is `queued`,
not stalled. Every message it sends is idempotent, so a duplicate of one that was not lost
is harmless. The scheduler runs it with Dramatiq messages; the inline api with its tasks.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from execution import recording
from execution.claims import Claim
from execution.dispatch import Dispatcher
from execution.engine import claim_free_slots, worker_name
from execution.metrics import REAPED_ITEMS
from execution.recording import Sessions
from models.database import transaction
from models.enums import Executor, ItemStatus, ResultStatus, RunStatus
from models.results import TestRunResult
from models.runs import TestRun, TestRunItem
from resolvers import stats
from resolvers.events import append_run_event

logger = logging.getLogger(__name__)

# Executions of one item the reaper starts before it gives up and fails the item.
MAX_EXECUTIONS = 3
ABANDONED = "Its worker stopped answering before this result was finished"


@dataclass(frozen=True, slots=True)
class Reaped:
    """What the reaper did in one pass."""

    requeued: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (run, item)
    failed: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    stalled: list[uuid.UUID] = field(default_factory=list)  # runs dispatched again
    closed_results: int = 0

    @property
    def actions(self) -> int:
        """How many things it repaired."""
        return len(self.requeued) + len(self.failed) + len(self.stalled) + self.closed_results

    def __str__(self) -> str:
        """A log line's worth."""
        return (
            f"{len(self.requeued)} items requeued, {len(self.failed)} failed for good, "
            f"{self.closed_results} open results closed, {len(self.stalled)} stalled runs "
            "dispatched again"
        )


async def reap_stuck_items(
    session: AsyncSession, *, reap_after: timedelta, now: datetime
) -> tuple[list[tuple[uuid.UUID, uuid.UUID]], list[tuple[uuid.UUID, uuid.UUID]]]:
    """Queue again (or fail, after MAX_EXECUTIONS) running items silent for `reap_after`.

    Returns the (run, item) pairs requeued and those to fail.
    """
    stale = (
        await session.execute(
            select(TestRunItem.id, TestRunItem.test_run_id, TestRunItem.attempt)
            .join(TestRun, TestRun.id == TestRunItem.test_run_id)
            .where(
                TestRun.status == RunStatus.RUNNING,
                TestRunItem.status == ItemStatus.RUNNING,
                TestRunItem.heartbeat_at < now - reap_after,
            )
            .with_for_update(of=TestRunItem, skip_locked=True)
        )
    ).all()
    requeued: list[tuple[uuid.UUID, uuid.UUID]] = []
    failed: list[tuple[uuid.UUID, uuid.UUID]] = []
    for item_id, run_id, attempt in stale:
        if attempt < MAX_EXECUTIONS:
            await session.execute(
                update(TestRunItem)
                .where(TestRunItem.id == item_id, TestRunItem.status == ItemStatus.RUNNING)
                .values(status=ItemStatus.QUEUED, claimed_by=None, current_step=0, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            requeued.append((run_id, item_id))
            type_, status = "item.requeued", ItemStatus.QUEUED
        else:
            failed.append((run_id, item_id))
            type_, status = "item.lost", ItemStatus.FAILED
        await append_run_event(
            session,
            run_id=run_id,
            type=type_,
            payload={"id": str(item_id), "status": status.value, "attempt": attempt},
        )
    return requeued, failed


async def close_abandoned_results(
    session: AsyncSession, *, reap_after: timedelta, now: datetime
) -> int:
    """Fail the open results of executions that died; how many were closed.

    A result is abandoned when its item's worker has been silent for `reap_after`, or when
    its item ended (stopped, reaped) that long ago and no execution came back to close it.
    Results of `client` runs belong to their outside executor and are left alone.
    """
    long_ago = now - reap_after
    open_results = (
        await session.execute(
            select(TestRunResult.id, TestRunResult.test_run_id, TestRunResult.started_at)
            .join(TestRunItem, TestRunItem.id == TestRunResult.test_run_item_id)
            .join(TestRun, TestRun.id == TestRunResult.test_run_id)
            .where(
                TestRunResult.completed_at.is_(None),
                TestRun.executor == Executor.SERVER,
                or_(
                    and_(
                        TestRunItem.status == ItemStatus.RUNNING,
                        TestRunItem.heartbeat_at < long_ago,
                    ),
                    and_(
                        TestRunItem.status != ItemStatus.RUNNING,
                        TestRunItem.updated_at < long_ago,
                        TestRunResult.started_at < long_ago,
                    ),
                ),
            )
            .with_for_update(of=TestRunResult, skip_locked=True)
        )
    ).all()
    for result_id, run_id, started_at in open_results:
        await session.execute(
            update(TestRunResult)
            .where(TestRunResult.id == result_id, TestRunResult.completed_at.is_(None))
            .values(
                status=ResultStatus.FAILED,
                completed_at=now,
                duration_ms=stats.duration_ms(started_at, now),
                error_message=ABANDONED,
            )
            .execution_options(synchronize_session=False)
        )
        await append_run_event(
            session,
            run_id=run_id,
            type="result.abandoned",
            payload={"result_id": str(result_id), "status": ResultStatus.FAILED.value},
        )
    return len(open_results)


async def stalled_runs(
    session: AsyncSession, *, reap_after: timedelta, now: datetime
) -> list[uuid.UUID]:
    """Running server runs with queued items, none running and none changed for `reap_after`.

    Nothing executes such a run: the message that should have started its next items was lost.
    Their `updated_at` is touched, so a run is dispatched again once per `reap_after` at most.
    """
    items = TestRunItem.test_run_id == TestRun.id
    stalled = list(
        await session.scalars(
            select(TestRun.id)
            .where(
                TestRun.status == RunStatus.RUNNING,
                TestRun.executor == Executor.SERVER,
                exists().where(items, TestRunItem.status == ItemStatus.QUEUED),
                ~exists().where(items, TestRunItem.status == ItemStatus.RUNNING),
                ~exists().where(items, TestRunItem.updated_at >= now - reap_after),
            )
            .with_for_update(skip_locked=True)
        )
    )
    if stalled:
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.test_run_id.in_(stalled), TestRunItem.status == ItemStatus.QUEUED)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return stalled


async def reap(
    sessions: Sessions, dispatcher: Dispatcher, *, reap_after: timedelta, worker: str = ""
) -> Reaped:
    """One pass of the reaper (see the module's docstring).

    `dispatcher` sends what it starts again: Dramatiq messages for the workers
    (`QueueDispatcher`), or tasks of the api in inline mode (`InlineExecution`). Under the
    global cap (`RUNNING_CAP`) the pass ends by giving the free slots to waiting items of
    any run, as an ending would have (the ending of a lost execution went unseen).
    """
    worker = worker or worker_name()
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        closed = await close_abandoned_results(session, reap_after=reap_after, now=now)
        requeued, failed = await reap_stuck_items(session, reap_after=reap_after, now=now)
        stalled = await stalled_runs(session, reap_after=reap_after, now=now)
    claims: list[Claim] = []
    for run_id, item_id in failed:
        async with transaction(sessions) as session:
            attempt = await recording.item_attempt(session, item_id)
        if attempt is not None:
            claims += await recording.finish_without_result(
                sessions,
                Claim(item_id, attempt),
                run_id,
                status=ItemStatus.FAILED,
                error=f"Its worker stopped answering, {MAX_EXECUTIONS} times in a row",
                worker=worker,
            )
    claims += await claim_free_slots(sessions, worker=worker)
    try:
        await dispatcher.send_items(claims)
    except (RedisError, OSError) as error:  # claimed but silent: reaped again, then re-sent
        logger.warning("next items not sent, the broker is away: %s", error)
    # A start message claims the run's next items (under the cap, if there is one) where
    # it executes; sent rather than claimed here, an outage of the broker leaves the items
    # queued (and this retried) instead of claimed by an execution that never starts.
    for run_id in dict.fromkeys([*(run for run, _ in requeued), *stalled]):
        try:
            await dispatcher.run_started(run_id)
        except (RedisError, OSError) as error:  # the run stays stalled: the next passes retry
            logger.warning("run %s not dispatched again, the broker is away: %s", run_id, error)
    reaped = Reaped(requeued=requeued, failed=failed, stalled=stalled, closed_results=closed)
    REAPED_ITEMS.inc(len(requeued) + len(failed))
    return reaped
