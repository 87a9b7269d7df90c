"""The scheduler process's loop: wakes every tick to do the periodic work of the engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import dramatiq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.engine import reap

logger = logging.getLogger(__name__)

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]


async def run_scheduler(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stop: asyncio.Event,
    jobs: Sequence[Job] = (),
    tick_seconds: float = 1.0,
) -> None:
    """Run `jobs` every `tick_seconds` until `stop` is set; a failing job is logged, not fatal."""
    async with session_factory() as session:
        await session.execute(text("SELECT 1"))
    logger.info("scheduler ready: %d periodic jobs, tick %.1fs", len(jobs), tick_seconds)
    while not stop.is_set():
        for job in jobs:
            try:
                await job(session_factory)
            except Exception:
                logger.exception("scheduler job %s failed", getattr(job, "__name__", job))
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick_seconds)
        except TimeoutError:
            continue
    logger.info("scheduler stopped")


def reaper(broker: dramatiq.Broker) -> Job:
    """The job that hands items of dead workers to new executions (see `engine.reap`)."""

    async def reap_stuck_items(sessions: async_sessionmaker[AsyncSession]) -> None:
        reaped = await reap(sessions, broker)
        if reaped:
            logger.warning("reaped %d items whose worker stopped answering", reaped)

    return reap_stuck_items
