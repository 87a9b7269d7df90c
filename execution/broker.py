"""The Dramatiq broker: Redis in production, with async actors enabled."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO

from execution.dead_letters import FinalError

# How long a thread waits for one of the broker's connections before it is an error.
CONNECTION_WAIT_S = 20


def create_broker(
    redis_url: str, *, max_connections: int | None = None, client_name: str | None = None
) -> dramatiq.Broker:
    """A Redis broker running async actors on the worker's event loop thread.

    With `max_connections`, threads that find them all busy wait for one instead of
    opening more (a worker with hundreds of message slots stays within its budget). Its
    dead letters keep the error they finally failed with (see `FinalError`).
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
    broker = RedisBroker(connection_pool=pool)  # type: ignore[no-untyped-call] # dramatiq's __init__ is unannotated
    broker.add_middleware(AsyncIO())
    broker.add_middleware(FinalError())
    return broker
