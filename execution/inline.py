"""Inline mode: the api process executes runs itself, one asyncio task per item, no Redis.

It is the `RunDispatcher` of the api and the `ItemQueue` of its engine: where a worker
would receive a Dramatiq message, a task of this process calls the same engine method,
with the same claims, so a run executes exactly as it would on the workers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from execution.claims import RUNNING_CAP, Claim, Liveness
from execution.engine import Engine
from execution.reaper import Reaped, reap
from execution.recording import Sessions
from execution.sandboxes.base import SandboxProvider
from resolvers.run_feeds import EventFeed

logger = logging.getLogger(__name__)

# A task whose handler failed (the database blinked) runs again after these pauses, as a
# Dramatiq message would be redelivered; the handlers are idempotent.
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
# How long shutdown waits for cancelled items to close their browsers.
SHUTDOWN_WAIT_S = 10.0


class InlineExecution:
    """Starts runs and executes their items as tasks of the running event loop.

    At shutdown the tasks are cancelled: each item closes its sandbox and stops its
    heartbeat, and stays `running` until a reaper (this process's, once it runs again,
    or a scheduler's) finds its heartbeat stale and hands it to a new execution.
    """

    def __init__(
        self,
        sessions: Sessions,
        provider: SandboxProvider,
        *,
        artifacts: Path,
        step_timeout_ms: int,
        liveness: Liveness | None = None,
        max_running_items: int | None = None,
        feed: EventFeed | None = None,
    ) -> None:
        """An engine on `sessions` whose claimed items come back here as tasks.

        `feed` is the process's in-memory event bus, on which its items hear of a stop.
        """
        self.engine = Engine(
            sessions=sessions,
            provider=provider,
            queue=self,
            artifacts=artifacts,
            step_timeout_ms=step_timeout_ms,
            liveness=liveness or Liveness(),
            max_running_items=max_running_items,
            feed=feed,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None

    def start(self, *, reap_every_s: float) -> None:
        """Reap silent items every `reap_every_s` in the background, as a scheduler would."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_forever(reap_every_s), name="reaper")

    async def run_started(self, run_id: uuid.UUID) -> None:
        """Claim the run's first items in the background; returns at once."""
        self._spawn(f"start run {run_id}", functools.partial(self.engine.start_run, run_id))

    async def send_items(self, claims: Sequence[Claim]) -> None:
        """Execute each claimed item in its own task."""
        for claim in claims:
            self._spawn(
                f"item {claim.item_id} attempt {claim.attempt}",
                functools.partial(self.engine.execute_item, claim.item_id, claim.attempt),
            )

    async def reap(self) -> Reaped:
        """One pass of the reaper, whose runs and items start again as tasks here.

        The same reaper as a scheduler's (`execution.reaper`), this object dispatching.
        """
        RUNNING_CAP.set(self.engine.max_running_items)  # the reaper task's context only
        return await reap(
            self.engine.sessions,
            self,
            reap_after=self.engine.liveness.reap_after,
            worker=self.engine.worker,
        )

    async def _reap_forever(self, every_s: float) -> None:
        while True:
            try:
                reaped = await self.reap()
                if reaped.actions:
                    logger.warning("inline reaper: %s", reaped)
            except Exception:  # the database blinked: try again at the next turn
                logger.exception("inline reaper failed")
            await asyncio.sleep(every_s)

    def in_flight(self) -> int:
        """Run starts and items executing now."""
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel what executes, give it a moment to close its browsers, free the sandboxes."""
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            logger.warning(
                "inline mode: %d executions interrupted by shutdown; their items are "
                "handed to a new execution once their heartbeat is stale",
                len(tasks),
            )
            await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_S)
        await self.engine.provider.aclose()

    def _spawn(self, name: str, handler: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._with_retries(name, handler), name=f"inline {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _with_retries(self, name: str, handler: Callable[[], Awaitable[None]]) -> None:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                await handler()
                return
            except Exception:
                if delay is None:
                    logger.exception("inline %s failed for good", name)
                    return
                logger.exception("inline %s failed; again in %.1fs", name, delay)
            await asyncio.sleep(delay)
