"""The worker process: consumes the broker's queues until told to stop."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from redis.asyncio import Redis

from execution.actors import register_actors
from execution.claims import Liveness
from execution.dispatch import QueueDispatcher
from execution.engine import Engine
from execution.events import PUBLISH_TIMEOUT_S, RedisEventPublisher
from execution.sandboxes.base import SandboxProvider
from models.database import create_engine, create_session_factory
from resolvers.events import publish_committed_events

logger = logging.getLogger(__name__)


def run_worker(
    broker: dramatiq.Broker,
    *,
    database_url: str,
    redis_url: str,
    provider: SandboxProvider,
    artifacts: Path,
    step_timeout_ms: int,
    liveness: Liveness,
    max_running_items: int | None = None,
    threads: int,
    stop: threading.Event,
) -> None:
    """Run a Dramatiq worker executing run items until `stop` is set, then drain and stop it.

    The run events its transactions commit are published on the Redis at `redis_url`.
    """
    dramatiq.set_broker(broker)
    database = create_engine(database_url, pool_size=threads + 2)
    sessions = create_session_factory(database)
    # Used only on Dramatiq's event loop thread, where the actors run.
    redis = Redis.from_url(
        redis_url, socket_connect_timeout=PUBLISH_TIMEOUT_S, socket_timeout=PUBLISH_TIMEOUT_S
    )
    publish_committed_events(sessions, RedisEventPublisher(redis))
    engine = Engine(
        sessions=sessions,
        provider=provider,
        queue=QueueDispatcher(broker),
        artifacts=artifacts,
        step_timeout_ms=step_timeout_ms,
        liveness=liveness,
        max_running_items=max_running_items,
    )
    register_actors(broker, engine)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=1000)
    worker.start()
    queues = sorted(broker.get_declared_queues()) or ["(none declared yet)"]
    logger.info("worker ready: %d threads, queues %s", threads, ", ".join(queues))
    try:
        stop.wait()
    finally:
        logger.info("worker stopping")
        loop = get_event_loop_thread()
        if loop is not None:  # free browsers and connections on the loop that made them
            loop.run_coroutine(engine.provider.aclose())
            loop.run_coroutine(database.dispose())
            loop.run_coroutine(redis.aclose())
        worker.stop()
        broker.close()
