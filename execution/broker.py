"""The Dramatiq broker: Redis in production, with async actors enabled."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO

from execution.dead_letters import FinalError


def create_broker(redis_url: str) -> dramatiq.Broker:
    """A Redis broker running async actors on the worker's event loop thread.

    Its dead letters keep the error they finally failed with (see `FinalError`).
    """
    broker = RedisBroker(url=redis_url)  # type: ignore[no-untyped-call] # dramatiq's __init__ is unannotated
    broker.add_middleware(AsyncIO())
    broker.add_middleware(FinalError())
    return broker
