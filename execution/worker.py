"""The worker process: consumes the broker's queues until told to stop.

Items run as asyncio tasks on the one event loop of Dramatiq's AsyncIO middleware. Each of
Dramatiq's worker threads only hands a message to that loop and waits for its coroutine
(`EventLoopThread.run_coroutine`), so `concurrency` threads are `concurrency` message
slots, not `concurrency` threads doing work: with remote browsers (cdp, e2b) a worker holds
hundreds of items, bounded by the database and Redis connections sized below.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Literal

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from redis.asyncio import BlockingConnectionPool, Redis

from execution.actors import register_actors
from execution.artifact_storage import ArtifactStorage
from execution.claims import Liveness
from execution.dispatch import QueueDispatcher
from execution.engine import Engine
from execution.events import PUBLISH_TIMEOUT_S, RedisEventBus, RedisEventPublisher
from execution.sandboxes.base import SandboxProvider
from models.database import create_engine, create_session_factory
from resolvers.events import publish_committed_events

logger = logging.getLogger(__name__)

# Items at once when the browsers run elsewhere (cdp, e2b): the worker only waits on them.
REMOTE_CONCURRENCY = 50
# Local Chromium processes per core: each one is a whole browser on this machine.
LOCAL_CONCURRENCY_PER_CORE = 2
# Redis connections that publish events: a publish is one short round trip, so a few
# serve any number of items (they wait for a free one rather than open more).
MAX_PUBLISH_CONNECTIONS = 8
# How long an idle queue's consumer waits for a wake-up before it asks Redis anyway. Each
# message queued through `execution.broker` wakes a consumer at once; this only bounds a
# message queued without one (by another Dramatiq client) or whose wake-up was taken.
IDLE_POLL_MS = 100
# How long an idle message slot (a Dramatiq worker thread) sleeps between looks at the
# worker's own in-memory queue: a message wakes it at once, so this only bounds how soon
# it notices a stop. Each wake-up takes the GIL from the event loop the items run on; with
# hundreds of slots, IDLE_POLL_MS here would be thousands of wake-ups a second.
SLOT_IDLE_S = 1.0
# How long a stopping worker waits for the messages in progress once its browsers are closed
# (they end fast then): one still in progress after that is left to the reaper, as if the
# process had died, rather than keep the process alive (Dramatiq would wait ten minutes).
STOP_WAIT_MS = 10_000
# How PostgreSQL (pg_stat_activity) and Redis (CLIENT LIST) name a worker's connections.
CLIENT_NAME = "testrun-worker"


def default_concurrency(sandbox: Literal["local", "e2b", "cdp"]) -> int:
    """Items one worker runs at once unless told: many for remote browsers, few for local."""
    if sandbox == "local":
        return LOCAL_CONCURRENCY_PER_CORE * (os.cpu_count() or 1)
    return REMOTE_CONCURRENCY


def database_pool_size(concurrency: int, pool_size: int) -> int:
    """PostgreSQL connections (plus as many overflow) for `concurrency` items.

    An item holds a connection only while it writes (a step, a heartbeat), so the pool is
    `TESTRUN_DB_POOL_SIZE` at most however many items run; a smaller worker needs fewer.
    """
    return max(1, min(concurrency + 2, pool_size))


def broker_connections(concurrency: int) -> int:
    """Redis connections Dramatiq's threads may share: its consumers, acks and retries."""
    return max(4, min(concurrency, MAX_PUBLISH_CONNECTIONS) + 4)


def publish_connections(concurrency: int) -> int:
    """Redis connections the event publisher may open for `concurrency` items."""
    return max(1, min(concurrency, MAX_PUBLISH_CONNECTIONS))


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
    concurrency: int,
    db_pool_size: int = 10,
    storage: ArtifactStorage | None = None,
    stop: threading.Event,
) -> None:
    """Run items, `concurrency` at once, until `stop` is set, then drain and stop.

    The run events its transactions commit are published on the Redis at `redis_url`, and
    its executing items hear there that they must stop.
    """
    dramatiq.set_broker(broker)
    database = create_engine(
        database_url,
        pool_size=database_pool_size(concurrency, db_pool_size),
        application_name=CLIENT_NAME,
    )
    sessions = create_session_factory(database)
    # Used only on Dramatiq's event loop thread, where the actors run.
    redis = Redis(
        connection_pool=BlockingConnectionPool.from_url(
            redis_url,
            max_connections=publish_connections(concurrency),
            timeout=PUBLISH_TIMEOUT_S,
            socket_connect_timeout=PUBLISH_TIMEOUT_S,
            socket_timeout=PUBLISH_TIMEOUT_S,
            client_name=CLIENT_NAME,
        )
    )
    publish_committed_events(sessions, RedisEventPublisher(redis))
    # One pub/sub connection on which the executing items hear that they must stop.
    bus = RedisEventBus(redis_url, client_name=CLIENT_NAME)
    engine = Engine(
        sessions=sessions,
        provider=provider,
        queue=QueueDispatcher(broker),
        artifacts=artifacts,
        step_timeout_ms=step_timeout_ms,
        liveness=liveness,
        max_running_items=max_running_items,
        storage=storage,
        feed=bus,
    )
    register_actors(broker, engine)
    # One thread (a message slot) per item at once; see the module's docstring.
    worker = dramatiq.Worker(broker, worker_threads=concurrency, worker_timeout=IDLE_POLL_MS)
    worker.start()
    for slot in worker.workers:
        slot.timeout = SLOT_IDLE_S
    queues = sorted(broker.get_declared_queues()) or ["(none declared yet)"]
    logger.info("worker ready: %d items at once, queues %s", concurrency, ", ".join(queues))
    try:
        stop.wait()
    finally:
        logger.info("worker stopping")
        loop = get_event_loop_thread()
        if loop is not None:  # free browsers and connections on the loop that made them
            loop.run_coroutine(engine.provider.aclose())
            loop.run_coroutine(database.dispose())
            loop.run_coroutine(bus.aclose())
            loop.run_coroutine(redis.aclose())
        worker.stop(timeout=STOP_WAIT_MS)
        broker.close()
