"""What each process measures itself, in Prometheus' default registry.

Counts that live in PostgreSQL or Redis (runs, items, queues, dead letters) are read by
the api when scraped (`server/metrics.py`), so they are right whichever process did the
work. What only the process doing it can time is here; the api serves its own on
`/metrics`, workers and schedulers on their metrics port (`serve_process_metrics`).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server

logger = logging.getLogger(__name__)

EVENT_PUBLISH_SECONDS = Histogram(
    "testrun_event_publish_seconds",
    "From a run event's commit to its publication to live subscribers (this process).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REAPED_ITEMS = Counter(
    "testrun_reaper_items",
    "Items whose execution went silent, handed to a new execution or failed by this "
    "process's reaper.",
)


def serve_process_metrics(host: str, port: int | None) -> None:
    """Serve this process's metrics on `host:port` (none when `port` is None)."""
    if port is None:
        return
    start_http_server(port, addr=host)
    logger.info("metrics on http://%s:%d/metrics", host, port)
