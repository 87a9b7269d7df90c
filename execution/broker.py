"""The Dramatiq broker: Redis in production, with async actors enabled.

Dramatiq's Redis consumers find new messages by polling, with a pause that grows while the
queue is idle: every item of a sequential run would wait out that pause once. Here each
enqueue also pushes a wake-up on the queue's wake list, on which an idle consumer blocks
(BLPOP) instead of sleeping, so a message is taken as soon as it is queued. The pause
stays as the fallback for a message queued by something that does not wake anyone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware.asyncio import AsyncIO

from execution.dead_letters import FinalError

logger = logging.getLogger(__name__)

# How long a thread waits for one of the broker's connections before it is an error.
CONNECTION_WAIT_S = 20
# Wake-ups kept per queue while no consumer waits (no worker up): enough to wake every
# consumer once; more would only make idle consumers look at an empty queue again.
WAKE_UPS_KEPT = 64


def wake_list(namespace: str, queue_name: str) -> str:
    """The Redis list an idle consumer of `queue_name` blocks on."""
    return f"{namespace}:{queue_name}.wake"


class WakeConsumers(dramatiq.Middleware):
    """After a message is queued, wake one consumer idling on its queue."""

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        """Push a wake-up on the message's queue; a lost one only leaves it to polling."""
        assert isinstance(broker, RedisBroker)  # its namespace and client
        key = wake_list(broker.namespace, message.queue_name)
        try:
            with broker.client.pipeline(transaction=False) as wake:
                wake.lpush(key, b"1")
                wake.ltrim(key, 0, WAKE_UPS_KEPT - 1)
                wake.execute()
        except redis.RedisError as error:  # the message is queued: it is found by polling
            logger.warning("could not wake a consumer of %s: %s", message.queue_name, error)


class WakingRedisBroker(RedisBroker):
    """Dramatiq's Redis broker whose idle consumers wait for a wake-up; see the module."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> _WakingConsumer:
        """A consumer that waits at most `timeout` ms for a wake-up between looks at its queue."""
        return _WakingConsumer(self, queue_name, prefetch, timeout)


class _WakingConsumer(_RedisConsumer):
    def __init__(
        self, broker: WakingRedisBroker, queue_name: str, prefetch: int, idle_ms: int
    ) -> None:
        # Dramatiq's own pause between empty fetches is none: the wait is the BLPOP below.
        super().__init__(broker, queue_name, prefetch, 0)  # type: ignore[no-untyped-call] # dramatiq's consumer is unannotated
        self.idle_s = idle_ms / 1000
        self.wake = wake_list(broker.namespace, queue_name)

    def __next__(self) -> Any:
        message = super().__next__()  # type: ignore[no-untyped-call]
        if message is not None:
            return message
        if self.outstanding_message_count >= self.prefetch:  # full: no wake-up is ours
            time.sleep(self.idle_s)
            return None
        try:
            self.broker.client.blpop([self.wake], timeout=self.idle_s)
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]
        return None


def create_broker(
    redis_url: str, *, max_connections: int | None = None, client_name: str | None = None
) -> dramatiq.Broker:
    """A Redis broker running async actors on the worker's event loop thread.

    With `max_connections`, threads that find them all busy wait for one instead of
    opening more (a worker with hundreds of message slots stays within its budget). Its
    dead letters keep the error they finally failed with (see `FinalError`), and its idle
    consumers are woken by each message queued (see the module's docstring).
    """
    pool: redis.ConnectionPool
    if max_connections is None:
        pool = redis.ConnectionPool.from_url(redis_url, client_name=client_name)
    else:
        pool = redis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=max_connections,
            timeout=CONNECTION_WAIT_S,
            client_name=client_name,
        )
    broker = WakingRedisBroker(connection_pool=pool)  # type: ignore[no-untyped-call] # dramatiq's __init__ is unannotated
    broker.add_middleware(AsyncIO())
    broker.add_middleware(FinalError())
    broker.add_middleware(WakeConsumers())
    return broker
