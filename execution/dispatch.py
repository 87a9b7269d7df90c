"""How runs and items reach an execution: the `RunDispatcher` and `ItemQueue` doors.

`QueueDispatcher` sends them to the workers as Dramatiq messages; `execution.inline`
executes them in the api process itself when there is no Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Protocol

import dramatiq

from execution.claims import Claim

RUNS_QUEUE = "runs"
START_RUN = "start_run"
EXECUTE_ITEM = "execute_item"


class ItemQueue(Protocol):
    """Where the engine hands the items it claimed, to be executed once each."""

    async def send_items(self, claims: Sequence[Claim]) -> None:
        """Have each claimed item executed (`Engine.execute_item(item_id, attempt)`)."""


class QueueDispatcher:
    """Hands runs and items to the workers as Dramatiq messages (consumed by the actors)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker
        broker.declare_queue(RUNS_QUEUE)

    async def _send(self, actor_name: str, *args: str | int) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=RUNS_QUEUE,
            actor_name=actor_name,
            args=args,
            kwargs={},
            options={},
        )
        # The broker's client is synchronous; keep the event loop free while it talks to Redis.
        await asyncio.to_thread(self.broker.enqueue, message)

    async def run_started(self, run_id: uuid.UUID) -> None:
        """Ask the workers to start executing the run's queued items."""
        await self._send(START_RUN, str(run_id))

    async def send_items(self, claims: Sequence[Claim]) -> None:
        """Send one `execute_item` message per claimed item."""
        for claim in claims:
            await self._send(EXECUTE_ITEM, str(claim.item_id), claim.attempt)
