"""The engine's side of `resolvers.dispatch.RunDispatcher`: messages on the broker."""

from __future__ import annotations

import asyncio
import uuid

import dramatiq

RUNS_QUEUE = "runs"
START_RUN = "start_run"


class QueueDispatcher:
    """Hands runs to the workers as Dramatiq messages (consumed by the engine's actors)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker
        broker.declare_queue(RUNS_QUEUE)

    async def _send(self, actor_name: str, run_id: uuid.UUID) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=RUNS_QUEUE,
            actor_name=actor_name,
            args=(str(run_id),),
            kwargs={},
            options={},
        )
        # The broker's client is synchronous; keep the event loop free while it talks to Redis.
        await asyncio.to_thread(self.broker.enqueue, message)

    async def run_started(self, run_id: uuid.UUID) -> None:
        """Ask the workers to start executing the run's queued items."""
        await self._send(START_RUN, run_id)
