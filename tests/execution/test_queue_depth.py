"""Queue depth, the oldest message's age and dead letters, read from a real RedisBroker."""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis

from execution.broker import create_broker
from execution.claims import Claim
from execution.dispatch import RUNS_QUEUE, QueueDispatcher
from execution.queue_depth import read_queue_depth


async def test_waiting_messages_their_age_and_dead_letters(redis: Redis, redis_url: str) -> None:
    broker = create_broker(redis_url)
    dispatcher = QueueDispatcher(broker)
    try:
        empty = await read_queue_depth(redis, RUNS_QUEUE)
        before = time.time()
        await dispatcher.send_items([Claim(uuid.uuid4(), 1), Claim(uuid.uuid4(), 1)])
        waiting = await read_queue_depth(redis, RUNS_QUEUE)
        # A consumer that gives a message up for good: Dramatiq dead-letters it.
        consumer = broker.consume(RUNS_QUEUE, prefetch=1, timeout=1000)
        message = next(consumer)
        assert message is not None
        consumer.nack(message)
        consumer.close()
        after_nack = await read_queue_depth(redis, RUNS_QUEUE)
    finally:
        broker.close()

    assert (empty.waiting, empty.oldest_age_s, empty.dead_letters) == (0, 0.0, 0)
    assert waiting.waiting == 2
    assert 0 < waiting.oldest_age_s <= time.time() - before + 1
    assert (after_nack.waiting, after_nack.dead_letters) == (1, 1)
