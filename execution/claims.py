"""Which items execute next: claiming in execution order, and heartbeats of executing items.

Every transition is a conditional UPDATE, so a duplicate message or a racing worker can
never move an item backwards or run it twice at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ItemStatus, RunStatus
from models.results import TestExecutionHistory
from models.runs import TestRun, TestRunItem
from resolvers.events import append_run_event

# The PostgreSQL advisory lock key under which running items are counted and claimed when
# TESTRUN_MAX_RUNNING_ITEMS caps them ("testrun" in ASCII, so no other use collides).
RUNNING_ITEMS_LOCK = 0x74657374_72756E
# Runs with waiting items looked at by one claim; the rest wait for the next slot to free.
WAITING_RUNS_PER_CLAIM = 50
# The global cap on running items (TESTRUN_MAX_RUNNING_ITEMS) of the execution in progress.
# The engine sets it once per message (and the reaper per process), so that every path that
# claims (an item ending, a start, a reap) honours it without each passing it down.
RUNNING_CAP: ContextVar[int | None] = ContextVar("running_cap", default=None)
# Recent executions of a test case whose median duration is its expected one.
DURATION_SAMPLES = 10


@dataclass(frozen=True, slots=True)
class Liveness:
    """How often an executing item's worker says it is alive, and when silence means lost.

    The processes take both from the settings TESTRUN_HEARTBEAT_EVERY_S and
    TESTRUN_REAP_AFTER_S; these defaults are theirs.
    """

    heartbeat_every: timedelta = timedelta(seconds=2)
    reap_after: timedelta = timedelta(seconds=10)

    @classmethod
    def of_seconds(cls, heartbeat_every_s: float, reap_after_s: float) -> Liveness:
        """The liveness of the settings' two numbers."""
        return cls(timedelta(seconds=heartbeat_every_s), timedelta(seconds=reap_after_s))


@dataclass(frozen=True, slots=True)
class Claim:
    """An item handed to `execute_item`; `attempt` tells a stale duplicate message apart."""

    item_id: uuid.UUID
    attempt: int


async def claim_next_items(session: AsyncSession, run: TestRun, *, worker: str) -> list[Claim]:
    """Mark the next queued items running, up to the run's parallelism; the run is locked.

    Items are taken in `execution_order` with `FOR UPDATE SKIP LOCKED`: a row another
    transaction holds is passed over rather than waited for. Under a global cap on running
    items (`RUNNING_CAP`), the free slots go to the waiting items of every run instead
    (see `claim_waiting_items`), and the run shows `queued` while all its items wait.
    """
    max_running = RUNNING_CAP.get()
    if max_running is not None:
        return await claim_waiting_items(
            session, worker=worker, max_running=max_running, locked_run=run
        )
    return await _claim_of_run(session, run, worker=worker, most=None)


async def claim_waiting_items(
    session: AsyncSession, *, worker: str, max_running: int, locked_run: TestRun | None = None
) -> list[Claim]:
    """Fill the free slots under the global cap with waiting items of any run.

    Runs are served by `priority` (higher first), then the earliest started.

    A transaction-scoped advisory lock makes the count of running items and the claims
    one step across all workers. Runs are locked `SKIP LOCKED` after it (never waited
    for), so it cannot deadlock with a caller holding one run's lock. `locked_run`, the
    caller's run, goes `queued` when none of its items runs any more.
    """
    await session.execute(select(func.pg_advisory_xact_lock(RUNNING_ITEMS_LOCK)))
    running = await session.scalar(
        select(func.count()).where(TestRunItem.status == ItemStatus.RUNNING)
    )
    free = max_running - (running or 0)
    claims: list[Claim] = []
    if free > 0:
        waiting = (
            select(TestRunItem.id)
            .where(TestRunItem.test_run_id == TestRun.id, TestRunItem.status == ItemStatus.QUEUED)
            .exists()
        )
        candidates = await session.scalars(
            select(TestRun)
            .where(TestRun.status.in_((RunStatus.RUNNING, RunStatus.QUEUED)), waiting)
            .order_by(TestRun.priority.desc(), TestRun.started_at, TestRun.id)
            .limit(WAITING_RUNS_PER_CLAIM)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        for run in candidates.all():
            found = await _claim_of_run(session, run, worker=worker, most=free - len(claims))
            if found and run.status == RunStatus.QUEUED:
                await _set_run_status(session, run, RunStatus.RUNNING)
            claims += found
            if len(claims) >= free:
                break
    if locked_run is not None and locked_run.status == RunStatus.RUNNING:
        by_status = dict(
            (
                await session.execute(
                    select(TestRunItem.status, func.count())
                    .where(TestRunItem.test_run_id == locked_run.id)
                    .group_by(TestRunItem.status)
                )
            ).all()
        )
        if by_status.get(ItemStatus.QUEUED) and not by_status.get(ItemStatus.RUNNING):
            await _set_run_status(session, locked_run, RunStatus.QUEUED)
    return claims


async def _set_run_status(session: AsyncSession, run: TestRun, status: RunStatus) -> None:
    """Move a locked run between `running` and `queued` (waiting for a global slot)."""
    await session.execute(
        update(TestRun)
        .where(TestRun.id == run.id, TestRun.status.in_((RunStatus.RUNNING, RunStatus.QUEUED)))
        .values(status=status, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    run.status = status
    await append_run_event(
        session, run_id=run.id, type="run.updated", payload={"status": status.value}
    )


async def _claim_of_run(
    session: AsyncSession, run: TestRun, *, worker: str, most: int | None
) -> list[Claim]:
    limit = run.parallel_count if run.parallel_enabled else 1
    running = await session.scalar(
        select(func.count()).where(
            TestRunItem.test_run_id == run.id, TestRunItem.status == ItemStatus.RUNNING
        )
    )
    free = limit - (running or 0)
    if most is not None:
        free = min(free, most)
    if free <= 0:
        return []
    queued = list(
        await session.scalars(
            select(TestRunItem.id)
            .where(TestRunItem.test_run_id == run.id, TestRunItem.status == ItemStatus.QUEUED)
            .order_by(*start_order(balanced=limit > 1))
            .limit(free)
            .with_for_update(of=TestRunItem, skip_locked=True)
        )
    )
    if not queued:
        return []
    now = datetime.now(UTC)
    claimed = (
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id.in_(queued), TestRunItem.status == ItemStatus.QUEUED)
            .values(
                status=ItemStatus.RUNNING,
                attempt=TestRunItem.attempt + 1,
                claimed_by=worker,
                heartbeat_at=now,
                started_at=func.coalesce(TestRunItem.started_at, now),
                updated_at=now,
            )
            .returning(TestRunItem.id, TestRunItem.attempt, TestRunItem.execution_order)
            .execution_options(synchronize_session=False)
        )
    ).all()
    claims = []
    for item_id, attempt, _order in sorted(claimed, key=lambda row: row[2]):
        claims.append(Claim(item_id, attempt))
        await append_run_event(
            session,
            run_id=run.id,
            type="item.claimed",
            payload={"id": str(item_id), "status": ItemStatus.RUNNING.value, "attempt": attempt},
        )
    first_order = min(row[2] for row in claimed)
    await session.execute(
        update(TestRun)
        .where(TestRun.id == run.id)
        .values(current_item_index=first_order - 1)
        .execution_options(synchronize_session=False)
    )
    return claims


def start_order(*, balanced: bool) -> list[Any]:
    """The ORDER BY of queued items: `execution_order`, or longest expected first.

    Balanced (a run with more than one item at a time), items start by the median duration
    of their test case's last DURATION_SAMPLES executions, longest first, unknown ones
    before all (they may be the longest); ties keep `execution_order`. Starting the longest
    first (LPT scheduling) lets the short ones fill in at the end, so the run ends close to
    the earliest it can. `execution_order` stays what people see.
    """
    if not balanced:
        return [TestRunItem.execution_order]
    recent = (
        select(TestExecutionHistory.duration_ms)
        .where(TestExecutionHistory.test_case_id == TestRunItem.test_case_id)
        .order_by(TestExecutionHistory.executed_at.desc())
        .limit(DURATION_SAMPLES)
        .correlate(TestRunItem)
        .subquery()
    )
    expected = (
        select(func.percentile_cont(0.5).within_group(recent.c.duration_ms))
        .scalar_subquery()
        .correlate(TestRunItem)
    )
    return [expected.desc().nulls_first(), TestRunItem.execution_order]


async def beat(session: AsyncSession, claims: Sequence[Claim], *, worker: str) -> set[Claim]:
    """Write the heartbeat of the `claims` `worker` executes; returns those still its own.

    A claim is void when its item is no longer running under its attempt, or its run is no
    longer running (stopped, or the reaper handed the item to another execution). One
    UPDATE writes `heartbeat_at` and `claimed_by` (so it names the worker executing the
    item, which need not be the one that claimed it) for all of them. Rows another
    transaction holds are passed over, not waited for, so a beat over many runs cannot
    deadlock with a stop; only those are read once more, without a lock, to tell a claim
    still its own (a step being recorded) from a void one.
    """
    if not claims:
        return set()
    now = datetime.now(UTC)
    locked = _executing(claims).with_for_update(of=TestRunItem, skip_locked=True).cte("locked")
    beaten = (
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.id == locked.c.id)
            .values(heartbeat_at=now, claimed_by=worker)
            .returning(TestRunItem.id, TestRunItem.attempt)
            .execution_options(synchronize_session=False)
        )
    ).all()
    own = {Claim(item_id, attempt) for item_id, attempt in beaten}
    passed_over = [claim for claim in claims if claim not in own]
    if passed_over:
        own |= {
            Claim(item_id, attempt)
            for item_id, attempt in (await session.execute(_executing(passed_over))).all()
        }
    return own


def _executing(claims: Sequence[Claim]) -> Select[uuid.UUID, int]:
    """The claims whose item still runs under their attempt, in a running run."""
    wanted = (
        func.unnest(
            literal([claim.item_id for claim in claims], ARRAY(UUID(as_uuid=True))),
            literal([claim.attempt for claim in claims], ARRAY(Integer)),
        )
        .table_valued("item_id", "attempt")
        .render_derived(name="wanted")
    )
    return (
        select(TestRunItem.id, TestRunItem.attempt)
        .join(
            wanted,
            and_(wanted.c.item_id == TestRunItem.id, wanted.c.attempt == TestRunItem.attempt),
        )
        .join(TestRun, TestRun.id == TestRunItem.test_run_id)
        .where(TestRunItem.status == ItemStatus.RUNNING, TestRun.status == RunStatus.RUNNING)
    )
