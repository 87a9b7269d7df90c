"""Run events inside one process: the in-memory bus of inline mode (no Redis).

It offers the publisher and the subscription side of `execution.events.RedisEventBus`
with the same bounded per-subscriber queues, for an api that executes runs itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence

from execution.events import DEFAULT_QUEUE_LIMIT, Subscriber
from execution.metrics import EVENT_PUBLISH_SECONDS
from resolvers.events import LiveEvent, project_channel, run_channel


class InMemoryEventBus:
    """Delivers the events this process commits to this process's subscribers."""

    def __init__(self, *, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.queue_limit = queue_limit
        self._subscribers: dict[str, set[Subscriber]] = {}

    def start(self) -> None:
        """Nothing to connect to; here for the same interface as the Redis bus."""

    async def aclose(self) -> None:
        """Nothing to close; subscribers end with their subscriptions."""

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Hand `events`, in order, to the subscribers of their run and project channels."""
        started = time.perf_counter()
        for event in events:
            for channel in (run_channel(event.run_id), project_channel(event.project_id)):
                for subscriber in tuple(self._subscribers.get(channel, ())):
                    subscriber.put(event)
        if events:
            EVENT_PUBLISH_SECONDS.observe(time.perf_counter() - started)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """A subscriber of `channel` from now on, until the block ends."""
        subscriber = Subscriber(self.queue_limit)
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            listeners = self._subscribers.get(channel)
            if listeners is not None:
                listeners.discard(subscriber)
                if not listeners:
                    del self._subscribers[channel]

    def subscriber_count(self) -> int:
        """How many subscribers listen now, over all channels."""
        return sum(len(found) for found in self._subscribers.values())
