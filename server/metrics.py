"""`/metrics`: the service in Prometheus' text format.

Counts kept in PostgreSQL and Redis (runs and items by status, step durations, queue
depth and age, dead letters) are read when scraped, so they hold whatever process did
the work; this process's own measures (event publish latency, reaper) and its websocket
subscribers follow. Workers and schedulers serve their own measures on their metrics port.

Access: with TESTRUN_METRICS_TOKEN, scrapers send it as a bearer token; with
TESTRUN_METRICS_PUBLIC=1 the route is open (for a private network); with neither it is off.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from execution.dispatch import RUNS_QUEUE
from execution.notifications import NOTIFICATIONS_QUEUE
from execution.queue_depth import QueueDepth, read_queue_depth
from resolvers.service_counts import STEP_BUCKETS_MS, ServiceCounts, read_service_counts
from server.auth import unauthenticated_response
from server.services import Services
from server.websocket_fan_out import SubscriptionGroups

QUEUES = (RUNS_QUEUE, NOTIFICATIONS_QUEUE)


class Snapshot(Collector):
    """Metric families read once for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        """The families as read."""
        return iter(self._families)


def _count_families(counts: ServiceCounts) -> Iterator[Metric]:
    runs = GaugeMetricFamily("testrun_runs", "Test runs by status.", labels=["status"])
    for status, count in counts.runs.items():
        runs.add_metric([status], count)
    items = GaugeMetricFamily(
        "testrun_items", "Test run items by status (passed, failed, ...).", labels=["status"]
    )
    for status, count in counts.items.items():
        items.add_metric([status], count)
    yield runs
    yield items
    yield GaugeMetricFamily(
        "testrun_running_items",
        "Items executing now, over every worker.",
        value=counts.items.get("running", 0),
    )
    steps = counts.steps
    buckets = [
        (str(bound / 1000), at) for bound, at in zip(STEP_BUCKETS_MS, steps.at_most, strict=True)
    ]
    yield HistogramMetricFamily(
        "testrun_step_duration_seconds",
        "How long replayed steps took (every stored step result).",
        buckets=[*buckets, ("+Inf", steps.count)],
        sum_value=steps.sum_ms / 1000,
    )


def _queue_families(depths: list[QueueDepth]) -> Iterator[Metric]:
    waiting = GaugeMetricFamily(
        "testrun_queue_depth",
        "Messages waiting in a Dramatiq queue (delayed retries included).",
        labels=["queue"],
    )
    age = GaugeMetricFamily(
        "testrun_queue_oldest_message_age_seconds",
        "Age of the oldest message waiting in a queue (0 when none waits).",
        labels=["queue"],
    )
    dead = GaugeMetricFamily(
        "testrun_dead_letters",
        "Messages that exhausted their retries (Dramatiq's dead-letter set of the queue).",
        labels=["queue"],
    )
    for depth in depths:
        waiting.add_metric([depth.queue], depth.waiting + depth.delayed)
        age.add_metric([depth.queue], depth.oldest_age_s)
        dead.add_metric([depth.queue], depth.dead_letters)
    yield from (waiting, age, dead)


def _refusal(request: Request, services: Services) -> Response | None:
    settings = services.settings
    if settings.metrics_public:
        return None
    if settings.metrics_token is None:
        return JSONResponse(
            {
                "detail": "Metrics are off: set TESTRUN_METRICS_TOKEN (scrapers send it as a "
                "bearer token) or TESTRUN_METRICS_PUBLIC=1"
            },
            status_code=404,
        )
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
        return unauthenticated_response("Metrics need 'Authorization: Bearer <metrics token>'")
    return None


async def metrics(request: Request) -> Response:
    """The Prometheus exposition of the service and of this process."""
    services: Services = request.app.state.services
    refused = _refusal(request, services)
    if refused is not None:
        return refused
    async with services.read_sessions() as session:
        counts = await read_service_counts(session)
    families = list(_count_families(counts))
    if services.redis is not None:
        depths = [await read_queue_depth(services.redis, queue) for queue in QUEUES]
        families += _queue_families(depths)
    groups: SubscriptionGroups = request.app.state.subscription_groups
    subscribers = groups.subscribers
    families.append(
        GaugeMetricFamily(
            "testrun_websocket_subscribers",
            "Live subscriptions this api process serves now.",
            value=subscribers,
        )
    )
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(Snapshot(families))
    body = generate_latest(scraped) + generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
