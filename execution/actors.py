"""The Dramatiq actors of the `runs` queue, bound to a worker's engine."""

from __future__ import annotations

import logging
import uuid

import dramatiq

from execution.dispatch import EXECUTE_ITEM, RUNS_QUEUE, START_RUN
from execution.engine import Engine

logger = logging.getLogger(__name__)

# An item replays at most this long (a wedged browser must not hold a worker forever);
# its heartbeat stops with it, and the reaper hands the item to another execution.
ITEM_TIME_LIMIT_MS = 60 * 60 * 1000
# Delivery is at least once and every actor is idempotent, so a message whose handler
# failed (the database blinked) is simply delivered again, with Dramatiq's backoff.
MAX_RETRIES = 5


def register_actors(broker: dramatiq.Broker, engine: Engine) -> None:
    """Declare `start_run` and `execute_item` on `broker`, executed by `engine`.

    A stopped run needs no message: the workers executing its items hear `run.cancelled`
    on the run's event channel (see `execution.executing`) and stop them.
    """

    async def start_run(run_id: str) -> None:
        await engine.start_run(uuid.UUID(run_id))

    async def execute_item(item_id: str, attempt: int) -> None:
        await engine.execute_item(uuid.UUID(item_id), attempt)

    dramatiq.actor(
        broker=broker, actor_name=START_RUN, queue_name=RUNS_QUEUE, max_retries=MAX_RETRIES
    )(start_run)
    dramatiq.actor(
        broker=broker,
        actor_name=EXECUTE_ITEM,
        queue_name=RUNS_QUEUE,
        max_retries=MAX_RETRIES,
        time_limit=ITEM_TIME_LIMIT_MS,
    )(execute_item)
