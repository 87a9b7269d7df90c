"""`/metrics` after a real run: a `testrun api` and a `testrun worker` on real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.enums import Role
from tests.execution.engine_harness import login_steps
from tests.live.harness import (
    EVENTS,
    Api,
    Worker,
    Writer,
    api_process,
    scrape,
    start_and_follow,
    subscribed,
)

TOKEN = "scrape-secret"


@pytest.fixture
def scraped_api(migrated_database_url: str, redis_url: str) -> Iterator[Api]:
    with api_process(migrated_database_url, redis_url, TESTRUN_METRICS_TOKEN=TOKEN) as found:
        yield found


@pytest.mark.slow
async def test_metrics_after_a_real_run(
    scraped_api: Api, worker: Worker, writer: Writer, site: str
) -> None:
    run_id = await writer.team.run_of([{"proven_steps": login_steps(site)}] * 2)
    token = await writer.token(Role.EDITOR)

    async with subscribed(scraped_api, token, EVENTS, runId=str(run_id), afterSeq=0):
        while_watched = scrape(f"{scraped_api.http_url}/metrics", TOKEN)
    await start_and_follow(scraped_api, token, run_id)
    api = scrape(f"{scraped_api.http_url}/metrics", TOKEN)
    own = scrape(f"http://127.0.0.1:{worker.metrics_port}/metrics", token=None)

    assert while_watched[("testrun_websocket_subscribers", ())] == 1
    assert api[("testrun_websocket_subscribers", ())] == 0
    assert api[("testrun_runs", (("status", "completed"),))] == 1
    assert api[("testrun_runs", (("status", "running"),))] == 0
    assert api[("testrun_items", (("status", "passed"),))] == 2
    assert api[("testrun_running_items", ())] == 0
    # Ten steps were stored; each bucket counts those at or under its bound.
    assert api[("testrun_step_duration_seconds_count", ())] == 10
    assert api[("testrun_step_duration_seconds_bucket", (("le", "+Inf"),))] == 10
    assert api[("testrun_step_duration_seconds_bucket", (("le", "60.0"),))] == 10
    assert api[("testrun_step_duration_seconds_sum", ())] > 0
    for queue in ("runs", "notifications"):
        assert api[("testrun_queue_depth", (("queue", queue),))] == 0
        assert api[("testrun_queue_oldest_message_age_seconds", (("queue", queue),))] == 0
        assert api[("testrun_dead_letters", (("queue", queue),))] == 0
    # The api published the start's events; the worker every step's, timed in each process.
    assert api[("testrun_event_publish_seconds_count", ())] >= 1
    assert own[("testrun_event_publish_seconds_count", ())] >= 10
