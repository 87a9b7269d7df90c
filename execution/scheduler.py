"""The scheduler process's loop: fires due schedules, follows their runs, reaps stuck items.

Each job repeats in its own task, so a slow one never delays another. A job may say when
it next has something to do: the firing job wakes at the next schedule's due time instead
of waiting for a tick, and ticks every `FIRING_POLL_SECONDS` to notice new schedules.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import dramatiq
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import RUNNING_CAP
from execution.dispatch import QueueDispatcher
from execution.engine import reap
from execution.events import PUBLISH_TIMEOUT_S, RedisEventPublisher
from execution.metrics import REAPED_ITEMS
from execution.notifications import (
    NOTIFICATIONS_QUEUE,
    Notifier,
    SmtpServer,
    register_notification_actors,
)
from models.database import after_commit, create_engine, create_session_factory, transaction
from resolvers.dispatch import RunDispatcher
from resolvers.events import publish_committed_events
from resolvers.schedule_executions import fire_due_schedule, follow_ended_runs, next_due_at

logger = logging.getLogger(__name__)

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[datetime | None]]
"""Periodic work; it may return when it next has work, if that is sooner than a tick."""

FIRING_POLL_SECONDS = 0.25
# Never spin: while another scheduler holds a due schedule it stays due until it commits.
MIN_PAUSE_SECONDS = 0.02
FOLLOW_BATCH = 50


async def run_scheduler(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stop: asyncio.Event,
    jobs: Sequence[Job] = (),
    tick_seconds: float = 1.0,
) -> None:
    """Repeat each job every `tick_seconds` (or sooner, when it asks) until `stop` is set.

    A failing job is logged and tried again at its next turn.
    """
    async with session_factory() as session:
        await session.execute(text("SELECT 1"))
    logger.info("scheduler ready: %d periodic jobs, tick %.1fs", len(jobs), tick_seconds)
    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(_repeat(job, session_factory, stop=stop, tick_seconds=tick_seconds))
    logger.info("scheduler stopped")


async def _repeat(
    job: Job,
    sessions: async_sessionmaker[AsyncSession],
    *,
    stop: asyncio.Event,
    tick_seconds: float,
) -> None:
    while not stop.is_set():
        wake = None
        try:
            wake = await job(sessions)
        except Exception:
            logger.exception("scheduler job %s failed", getattr(job, "__name__", job))
        pause = tick_seconds
        if wake is not None:
            pause = min(pause, (wake - datetime.now(UTC)).total_seconds())
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(pause, MIN_PAUSE_SECONDS))
        except TimeoutError:
            continue


def reaper(broker: dramatiq.Broker) -> Job:
    """The job that hands items of dead workers to new executions (see `engine.reap`)."""

    async def reap_stuck_items(sessions: async_sessionmaker[AsyncSession]) -> None:
        reaped = await reap(sessions, QueueDispatcher(broker))
        REAPED_ITEMS.inc(reaped)
        if reaped:
            logger.warning("reaped %d items whose worker stopped answering", reaped)

    return reap_stuck_items


def firing(dispatcher: RunDispatcher, *, poll_seconds: float = FIRING_POLL_SECONDS) -> Job:
    """The job that fires every due schedule, each in its own transaction, then says when next."""

    async def fire_due_schedules(sessions: async_sessionmaker[AsyncSession]) -> datetime:
        while True:
            async with transaction(sessions) as session:
                fired = await fire_due_schedule(
                    session, now=datetime.now(UTC), dispatcher=dispatcher
                )
            if fired is None:
                break
            logger.info(
                "schedule %s fired for %s: %s (run %s, %d missed)%s",
                fired.schedule_id,
                fired.scheduled_for.isoformat(),
                fired.status or "already recorded",
                fired.test_run_id,
                fired.missed,
                ", now completed" if fired.completed else "",
            )
        async with sessions() as session:
            due = await next_due_at(session)
        poll = datetime.now(UTC) + timedelta(seconds=poll_seconds)
        return poll if due is None else min(due, poll)

    return fire_due_schedules


def follower(notifier: Notifier, *, batch: int = FOLLOW_BATCH) -> Job:
    """The job that records how scheduled runs ended and queues their notifications."""

    async def follow_scheduled_runs(sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            async with transaction(sessions) as session:
                ended = await follow_ended_runs(session, limit=batch)
                for execution in ended:
                    after_commit(session, functools.partial(notifier.notify, execution))
            for execution in ended:
                logger.info(
                    "schedule %s execution %s ended %s",
                    execution.schedule_id,
                    execution.execution_id,
                    execution.status.value,
                )
            if len(ended) < batch:
                return

    return follow_scheduled_runs


def serve_scheduler(
    broker: dramatiq.Broker,
    *,
    database_url: str,
    redis_url: str,
    smtp: SmtpServer | None,
    base_url: str,
    jobs: Sequence[Job] = (),
    notification_threads: int = 2,
    max_running_items: int | None = None,
) -> None:
    """The `testrun scheduler` process, until SIGINT or SIGTERM.

    `jobs` run beside the scheduler's own (e.g. sweeping leaked sandboxes). Besides the
    jobs, a Dramatiq worker on the `notifications` queue only delivers emails
    and webhooks, on its own threads and event loop.
    """
    register_notification_actors(broker, smtp)
    worker = dramatiq.Worker(
        broker,
        queues={NOTIFICATIONS_QUEUE},
        worker_threads=notification_threads,
        worker_timeout=1000,
    )
    worker.start()
    try:
        asyncio.run(
            _serve(
                broker,
                database_url=database_url,
                redis_url=redis_url,
                base_url=base_url,
                jobs=jobs,
                max_running_items=max_running_items,
            )
        )
    finally:
        worker.stop()
        broker.close()


async def _serve(
    broker: dramatiq.Broker,
    *,
    database_url: str,
    redis_url: str,
    base_url: str,
    jobs: Sequence[Job],
    max_running_items: int | None,
) -> None:
    # The reaper's claims honour the global cap too; its task inherits this context.
    RUNNING_CAP.set(max_running_items)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = create_engine(database_url, pool_size=3)
    sessions = create_session_factory(engine)
    # What the jobs change (fired runs, reaped items) are run events: publish them too.
    redis = Redis.from_url(redis_url, socket_connect_timeout=PUBLISH_TIMEOUT_S)
    publish_committed_events(sessions, RedisEventPublisher(redis))
    every_job = [
        firing(QueueDispatcher(broker)),
        follower(Notifier(broker, base_url=base_url)),
        reaper(broker),
        *jobs,
    ]
    try:
        await run_scheduler(sessions, stop=stop, jobs=every_job)
    finally:
        await redis.aclose()
        await engine.dispose()
