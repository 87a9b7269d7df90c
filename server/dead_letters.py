"""`testrun dead-letters`: the broker's dead letters for operators, across every project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from execution.broker import create_broker
from execution.dead_letters import RedisDeadLetterBox
from resolvers.dead_letters import DeadLetter


def describe(letter: DeadLetter) -> str:
    """One line: id, when it failed, queue, the message, its retries and last error."""
    args = ", ".join(repr(arg) for arg in letter.args)
    return (
        f"{letter.id}  {letter.failed_at.isoformat(timespec='seconds')}  {letter.queue_name}  "
        f"{letter.actor_name}({args})  retries={letter.retries}  {letter.error or ''}".rstrip()
    )


@asynccontextmanager
async def _box(redis_url: str) -> AsyncIterator[RedisDeadLetterBox]:
    redis = Redis.from_url(redis_url)
    broker = create_broker(redis_url)
    try:
        yield RedisDeadLetterBox(redis, broker)
    finally:
        await redis.aclose()
        broker.close()


async def list_dead_letters(redis_url: str) -> list[str]:
    """A line per dead letter, the latest first; one saying so when there is none."""
    async with _box(redis_url) as box:
        letters = await box.read()
    return [describe(letter) for letter in letters] or ["no dead letters"]


async def replay_dead_letter(redis_url: str, letter_id: str) -> str | None:
    """Replay the letter: its description, or None if there is no such letter."""
    async with _box(redis_url) as box:
        letter = await box.replay(letter_id)
    return None if letter is None else describe(letter)
