"""How much waits in Dramatiq's Redis queues: depth, the oldest message's age, dead letters.

Reads the keys of dramatiq's RedisBroker (namespace `dramatiq`): the list `dramatiq:Q` of
message ids with their bodies in the hash `dramatiq:Q.msgs`, the delayed (retrying)
messages in `dramatiq:Q.DQ`, and the dead letters in the sorted set `dramatiq:Q.XQ`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from redis.asyncio import Redis

NAMESPACE = "dramatiq"


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """One queue now; `oldest_age_s` is 0 when nothing waits."""

    queue: str
    waiting: int
    delayed: int
    oldest_age_s: float
    dead_letters: int


async def read_queue_depth(redis: Redis, queue: str) -> QueueDepth:
    """Read `queue`'s keys in one round trip (and one more for the oldest message's body)."""
    key = f"{NAMESPACE}:{queue}"
    async with redis.pipeline(transaction=False) as pipe:
        pipe.llen(key)
        pipe.llen(f"{key}.DQ")
        pipe.zcard(f"{key}.XQ")
        pipe.lindex(key, 0)
        waiting, delayed, dead, oldest_id = await pipe.execute()
    age = 0.0
    if oldest_id is not None:
        body = await redis.hget(f"{key}.msgs", oldest_id)
        if body is not None:
            enqueued_ms = json.loads(body).get("message_timestamp")
            if isinstance(enqueued_ms, int | float):
                age = max(0.0, time.time() - enqueued_ms / 1000)
    return QueueDepth(
        queue=queue,
        waiting=int(waiting),
        delayed=int(delayed),
        oldest_age_s=age,
        dead_letters=int(dead),
    )
