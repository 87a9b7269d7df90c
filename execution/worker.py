"""The worker process: consumes the broker's queues until told to stop."""

from __future__ import annotations

import logging
import threading

import dramatiq

logger = logging.getLogger(__name__)


def run_worker(broker: dramatiq.Broker, *, threads: int, stop: threading.Event) -> None:
    """Run a Dramatiq worker on `broker` until `stop` is set, then drain and stop it."""
    dramatiq.set_broker(broker)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=1000)
    worker.start()
    queues = sorted(broker.get_declared_queues()) or ["(none declared yet)"]
    logger.info("worker ready: %d threads, queues %s", threads, ", ".join(queues))
    try:
        stop.wait()
    finally:
        logger.info("worker stopping")
        worker.stop()
        broker.close()
