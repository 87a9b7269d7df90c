"""Dead letters where Dramatiq's Redis broker keeps them: the `<queue>.XQ` keys.

When a message exhausts its retries the broker moves it to a sorted set of ids scored by
when it failed (`dramatiq:<queue>.XQ`) and a hash of their bodies (`...XQ.msgs`), and
deletes it after a week. The body it keeps is the one last enqueued, from before the
final failure: `FinalError` writes the message as it ended instead, with its last
traceback and retry count. Reading and replaying goes straight to those keys.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import dramatiq
from redis.asyncio import Redis

from execution.dispatch import EXECUTE_ITEM, RUNS_QUEUE, START_RUN
from execution.notifications import NOTIFICATIONS_QUEUE
from resolvers.dead_letters import DeadLetter


class FinalError(dramatiq.Middleware):
    """Keeps, in a dead letter, the error its message finally failed with."""

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        """Overwrite the dead letter's body with the message as it failed, if it is there."""
        client = getattr(broker, "client", None)
        letter_id = message.options.get("redis_message_id")
        if client is None or letter_id is None:
            return  # not Redis's broker: nothing to amend
        queue = message.queue_name.removesuffix(".DQ")
        bodies = f"{getattr(broker, 'namespace', 'dramatiq')}:{queue}.XQ.msgs"
        if client.hexists(bodies, letter_id):
            client.hset(bodies, letter_id, message.encode())


# Options a replay drops: the retry count, the last traceback and the broker's own ids.
_SPENT_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta", "redis_message_id")


class RedisDeadLetterBox:
    """The dead letters of the engine's queues on the broker's Redis."""

    def __init__(
        self,
        redis: Redis,
        broker: dramatiq.Broker,
        *,
        queues: tuple[str, ...] = (RUNS_QUEUE, NOTIFICATIONS_QUEUE),
    ) -> None:
        self.redis = redis
        self.broker = broker
        self.queues = queues
        self.namespace: str = getattr(broker, "namespace", "dramatiq")

    def _keys(self, queue: str) -> tuple[str, str]:
        return f"{self.namespace}:{queue}.XQ", f"{self.namespace}:{queue}.XQ.msgs"

    async def read(self) -> list[DeadLetter]:
        """Every dead letter of the queues, the latest first."""
        letters = []
        for queue in self.queues:
            ids_key, bodies_key = self._keys(queue)
            # redis-py types the reply loosely: WITHSCORES gives (member, score) pairs.
            scored = cast(
                "list[tuple[bytes, float]]",
                await self.redis.zrange(ids_key, 0, -1, withscores=True),
            )
            if not scored:
                continue
            bodies = await self.redis.hmget(bodies_key, [letter_id for letter_id, _ in scored])
            for (letter_id, score), body in zip(scored, bodies, strict=True):
                if body is not None:
                    letters.append(_letter(_text(letter_id), queue, score, body))
        return sorted(letters, key=lambda letter: letter.failed_at, reverse=True)

    async def count(self) -> int:
        """How many dead letters the queues hold (for /metrics)."""
        total = 0
        for queue in self.queues:
            total += await self.redis.zcard(self._keys(queue)[0])
        return total

    async def replay(self, letter_id: str) -> DeadLetter | None:
        """Enqueue the message again with fresh retries, then forget the letter.

        Enqueued before it is forgotten: a failure in between leaves a duplicate, which
        the idempotent actors drop, never a lost message.
        """
        for queue in self.queues:
            ids_key, bodies_key = self._keys(queue)
            body = await self.redis.hget(bodies_key, letter_id)
            if body is None:
                continue
            score = await self.redis.zscore(ids_key, letter_id) or 0.0
            letter = _letter(letter_id, queue, score, body)
            dead = _decode(body)
            options = {k: v for k, v in dead.options.items() if k not in _SPENT_OPTIONS}
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=queue,
                actor_name=dead.actor_name,
                args=dead.args,
                kwargs=dead.kwargs,
                options=options,
            )
            await asyncio.to_thread(self.broker.enqueue, message)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(ids_key, letter_id)
                pipe.hdel(bodies_key, letter_id)
                await pipe.execute()
            return letter
        return None


def _decode(body: bytes | str) -> dramatiq.Message[Any]:
    return dramatiq.Message.decode(body if isinstance(body, bytes) else body.encode())


def _letter(letter_id: str, queue: str, failed_at_ms: object, body: bytes | str) -> DeadLetter:
    message = _decode(body)
    trace = str(message.options.get("traceback") or "").strip()
    args = list(message.args)
    first = _uuid(args[0]) if args else None
    return DeadLetter(
        id=letter_id,
        queue_name=queue,
        actor_name=message.actor_name,
        args=args,
        failed_at=datetime.fromtimestamp(float(str(failed_at_ms)) / 1000, UTC),
        retries=int(message.options.get("retries", 0)),
        error=trace.splitlines()[-1] if trace else None,
        run_id=first if message.actor_name == START_RUN else None,
        item_id=first if message.actor_name == EXECUTE_ITEM else None,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
