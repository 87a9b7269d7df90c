"""The screencast relay keeps following its sandbox through Redis errors."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from execution.live_view import ScreencastRelay, watched_key


class BlinkingRedis:
    """The test Redis, whose first `failures` EXISTS calls fail as a dropped connection."""

    def __init__(self, redis: Redis, failures: int) -> None:
        self.redis = redis
        self.failures = failures

    async def exists(self, key: str) -> int:
        if self.failures:
            self.failures -= 1
            raise RedisConnectionError("Connection reset by peer")
        return int(await self.redis.exists(key))

    async def publish(self, channel: str, message: bytes) -> int:
        return int(await self.redis.publish(channel, message))


class StandInSession:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def on(self, event: str, handler: Any) -> None:
        pass

    async def send(self, method: str, params: Any = None) -> None:
        self.sent.append(method)

    async def detach(self) -> None:
        pass


class StandInContext:
    """What the relay uses of a browser context: its pages and CDP sessions."""

    def __init__(self) -> None:
        self.handlers: list[Any] = []
        self.sessions: list[StandInSession] = []

    def on(self, event: str, handler: Any) -> None:
        self.handlers.append(handler)

    async def new_cdp_session(self, page: Any) -> StandInSession:
        self.sessions.append(StandInSession())
        return self.sessions[-1]


class StandInPage:
    def is_closed(self) -> bool:
        return False


async def test_a_redis_blink_does_not_end_the_live_view(redis: Redis) -> None:
    item_id = uuid.uuid4()
    context = StandInContext()
    relay = ScreencastRelay(
        BlinkingRedis(redis, failures=3),  # type: ignore[arg-type]
        item_id,
        context,  # type: ignore[arg-type]
        poll_s=0.02,
    )
    relay.start()
    context.handlers[0](StandInPage())  # the test case opens its page
    await redis.set(watched_key(item_id), 1)  # and someone watches
    try:
        for _ in range(250):
            if context.sessions:
                break
            await asyncio.sleep(0.02)
    finally:
        await relay.close()

    assert context.sessions, "the relay stopped following after Redis failed"
    assert context.sessions[0].sent[0] == "Page.startScreencast"
