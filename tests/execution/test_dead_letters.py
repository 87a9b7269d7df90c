"""Dead letters as Dramatiq's Redis broker keeps them: listed, counted, replayed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dramatiq
import pytest
from redis.asyncio import Redis

from execution.broker import create_broker
from execution.dead_letters import RedisDeadLetterBox
from execution.dispatch import RUNS_QUEUE, START_RUN
from tests.fixtures.broker import KillMessage


@pytest.fixture
def box(redis_url: str, redis: Redis) -> Iterator[RedisDeadLetterBox]:
    broker = create_broker(redis_url)
    yield RedisDeadLetterBox(redis, broker)
    broker.close()


async def test_a_message_out_of_retries_is_listed_with_its_run_and_error(
    box: RedisDeadLetterBox, dead_letter: KillMessage
) -> None:
    run_id = uuid.uuid4()

    letter_id = await dead_letter(run_id)

    (letter,) = await box.read()
    assert (letter.id, letter.queue_name, letter.actor_name) == (letter_id, RUNS_QUEUE, START_RUN)
    assert (letter.args, letter.run_id, letter.item_id) == ([str(run_id)], run_id, None)
    assert letter.error is not None and "ConnectionRefusedError" in letter.error
    assert await box.count() == 1


async def test_a_replayed_letter_is_queued_again_with_fresh_retries_and_forgotten(
    box: RedisDeadLetterBox, dead_letter: KillMessage, redis: Redis
) -> None:
    run_id = uuid.uuid4()
    letter_id = await dead_letter(run_id)
    await dead_letter(uuid.uuid4())

    replayed = await box.replay(letter_id)

    assert replayed is not None and replayed.run_id == run_id
    assert [letter.id for letter in await box.read()] != [letter_id]
    assert await box.count() == 1
    queued = [
        dramatiq.Message.decode(body)
        for body in (await redis.hgetall(f"dramatiq:{RUNS_QUEUE}.msgs")).values()
    ]
    (again,) = [message for message in queued if message.args == (str(run_id),)]
    assert again.actor_name == START_RUN
    assert "retries" not in again.options and "traceback" not in again.options


async def test_replaying_an_unknown_letter_changes_nothing(
    box: RedisDeadLetterBox, dead_letter: KillMessage
) -> None:
    await dead_letter(uuid.uuid4())

    assert await box.replay("no-such-letter") is None
    assert await box.count() == 1
