"""The broker's idle consumers: woken by each message queued, still polling without one."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis

from execution.broker import WAKE_UPS_KEPT, WakeConsumers, create_broker, wake_list
from server.embedded import free_port

# Longer than any test may last: a consumer that waited it out was never woken.
NEVER_MS = 600_000


@pytest.fixture
def queue() -> str:
    return f"wake-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker(redis_url: str, queue: str) -> Iterator[dramatiq.Broker]:
    broker = create_broker(redis_url)
    broker.declare_queue(queue)
    yield broker
    broker.close()


def message(queue: str) -> dramatiq.Message[None]:
    return dramatiq.Message(queue_name=queue, actor_name="noop", args=(), kwargs={}, options={})


async def waiting_on(redis: Redis, key: str) -> None:
    """Until a client blocks on `key` (Redis lists it with `cmd=blpop`)."""
    while not any(client.get("cmd") == "blpop" for client in await redis.client_list()):
        await asyncio.sleep(0.01)
    assert await redis.llen(key) == 0


def take(consumer: Any, found: list[Any], done: threading.Event) -> None:
    """What a Dramatiq consumer thread does: ask until a message comes."""
    while (proxy := next(consumer)) is None:
        pass
    found.append(proxy)
    done.set()


async def test_an_idle_consumer_takes_a_message_as_it_is_queued_not_after_its_idle_wait(
    broker: dramatiq.Broker, queue: str, redis: Redis
) -> None:
    consumer = broker.consume(queue, prefetch=1, timeout=NEVER_MS)
    found: list[Any] = []
    done = threading.Event()
    threading.Thread(target=take, args=(consumer, found, done), daemon=True).start()
    await waiting_on(redis, wake_list("dramatiq", queue))

    sent = broker.enqueue(message(queue))

    # Without the wake-up the consumer would sleep out NEVER_MS before looking again.
    assert await asyncio.to_thread(done.wait, 30), "the idle consumer was not woken"
    assert found[0].message_id == sent.message_id
    consumer.close()


async def test_a_message_queued_without_a_wake_up_is_found_by_polling(
    broker: dramatiq.Broker, redis_url: str, queue: str, redis: Redis
) -> None:
    consumer = broker.consume(queue, prefetch=1, timeout=50)
    found: list[Any] = []
    done = threading.Event()
    threading.Thread(target=take, args=(consumer, found, done), daemon=True).start()
    await waiting_on(redis, wake_list("dramatiq", queue))
    plain = RedisBroker(url=redis_url)  # type: ignore[no-untyped-call] # Dramatiq's own: it wakes no one

    sent = plain.enqueue(message(queue))

    assert await asyncio.to_thread(done.wait, 30)
    assert found[0].message_id == sent.message_id
    assert await redis.llen(wake_list("dramatiq", queue)) == 0
    consumer.close()
    plain.close()


async def test_wake_ups_nobody_waits_for_are_kept_bounded(
    broker: dramatiq.Broker, queue: str, redis: Redis
) -> None:
    for _ in range(WAKE_UPS_KEPT + 40):
        broker.enqueue(message(queue))

    assert await redis.llen(wake_list("dramatiq", queue)) == WAKE_UPS_KEPT
    assert await redis.hlen(f"dramatiq:{queue}.msgs") == WAKE_UPS_KEPT + 40


def test_a_wake_up_redis_refuses_is_logged_and_never_fails_the_queued_message(
    queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    gone = create_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    with caplog.at_level(logging.WARNING, logger="execution.broker"):
        WakeConsumers().after_enqueue(gone, message(queue), None)

    assert f"could not wake a consumer of {queue}" in caplog.text
    gone.close()
