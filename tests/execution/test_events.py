"""Run events on a real Redis: published after commit only, fanned out, slow readers resynced."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.events import RedisEventBus, RedisEventPublisher
from models.database import transaction
from models.enums import Role
from models.runs import RunEvent
from resolvers.events import (
    LiveEvent,
    append_run_event,
    project_channel,
    publish_committed_events,
    run_channel,
)
from resolvers.run_feeds import LiveRuns
from resolvers.tokens import Principal
from server.embedded import free_port
from tests.factories import make_project, make_run, make_user


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[RedisEventBus]:
    found = RedisEventBus(redis_url, queue_limit=3)
    found.start()
    await asyncio.wait_for(found.connected.wait(), 10)
    yield found
    await found.aclose()


@pytest.fixture
async def run_in_project(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> tuple[uuid.UUID, uuid.UUID]:
    async with transaction(committing_session_factory) as session:
        project = await make_project(session)
        run = await make_run(session, project, await make_user(session), status="running")
    return run.id, project.id


def event(seq: int, run_id: uuid.UUID | None = None) -> LiveEvent:
    return LiveEvent(run_id or uuid.uuid4(), uuid.uuid4(), seq, "step.completed", {"n": seq})


async def test_committed_events_are_published_on_the_run_and_project_channels(
    committing_session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    run_in_project: tuple[uuid.UUID, uuid.UUID],
) -> None:
    run_id, project_id = run_in_project
    publish_committed_events(committing_session_factory, RedisEventPublisher(redis))
    pubsub = redis.pubsub()
    await pubsub.subscribe(run_channel(run_id), project_channel(project_id))

    async with transaction(committing_session_factory) as session:
        await append_run_event(session, run_id=run_id, type="run.started", payload={"a": 1})
        await append_run_event(session, run_id=run_id, type="item.claimed", payload={})
    with pytest.raises(RuntimeError):  # rolled back: nothing may be published
        async with transaction(committing_session_factory) as session:
            await append_run_event(session, run_id=run_id, type="never", payload={})
            raise RuntimeError("abort")
    async with transaction(committing_session_factory) as session:
        await append_run_event(session, run_id=run_id, type="run.completed", payload={})

    received = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(received) < 6 and asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:  # None: a subscription confirmed, or nothing yet
            received.append((message["channel"].decode(), json.loads(message["data"])))
    await pubsub.aclose()

    run_messages = [data for channel, data in received if channel == run_channel(run_id)]
    assert [data["seq"] for data in run_messages] == [1, 2, 3]
    assert [data["type"] for data in run_messages] == [
        "run.started",
        "item.claimed",
        "run.completed",
    ]
    assert run_messages[0] == {
        "run_id": str(run_id),
        "project_id": str(project_id),
        "seq": 1,
        "type": "run.started",
        "payload": {"a": 1},
    }
    assert [data for channel, data in received if channel != run_channel(run_id)] == run_messages


async def test_a_writer_does_not_fail_when_redis_is_unreachable(
    committing_session_factory: async_sessionmaker[AsyncSession],
    run_in_project: tuple[uuid.UUID, uuid.UUID],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_id, _ = run_in_project
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    publish_committed_events(committing_session_factory, RedisEventPublisher(nowhere))

    async with transaction(committing_session_factory) as session:
        await append_run_event(session, run_id=run_id, type="step.completed", payload={})
    await nowhere.aclose()

    async with committing_session_factory() as session:
        logged = list(
            await session.scalars(select(RunEvent.seq).where(RunEvent.test_run_id == run_id))
        )
    assert logged == [1]
    assert "subscribers will read them from the log" in caplog.text


async def test_a_slow_subscriber_is_resynced_while_others_get_every_event(
    bus: RedisEventBus, redis: Redis
) -> None:
    run_id = uuid.uuid4()
    async with (
        bus.subscribe(run_channel(run_id)) as slow,
        bus.subscribe(run_channel(run_id)) as fast,
    ):
        fast_seen = []
        for seq in range(1, 6):
            await redis.publish(run_channel(run_id), event(seq, run_id).encode())
            fast_seen.append(await asyncio.wait_for(fast.next(), 5))

        assert await slow.next() is None  # its queue of 3 overflowed: read the log
        assert not slow.ready()
        await redis.publish(run_channel(run_id), event(6, run_id).encode())
        after = await asyncio.wait_for(slow.next(), 5)

    assert [found.seq for found in fast_seen] == [1, 2, 3, 4, 5]
    assert after is not None and after.seq == 6
    assert bus.subscriber_count() == 0


async def test_malformed_messages_are_ignored(bus: RedisEventBus, redis: Redis) -> None:
    channel = run_channel(uuid.uuid4())
    async with bus.subscribe(channel) as subscriber:
        await redis.publish(channel, b"not json")
        await redis.publish(channel, event(1).encode())

        assert (await asyncio.wait_for(subscriber.next(), 5)).seq == 1


async def test_subscribers_leaving_mid_subscribe_leave_the_connection_to_the_others(
    bus: RedisEventBus,
    redis: Redis,
    committing_session_factory: async_sessionmaker[AsyncSession],
    run_in_project: tuple[uuid.UUID, uuid.UUID],
) -> None:
    run_id, project_id = run_in_project
    publish_committed_events(committing_session_factory, RedisEventPublisher(redis))
    principal = Principal(uuid.uuid4(), uuid.uuid4(), project_id, "acme", Role.VIEWER)
    live = LiveRuns(committing_session_factory, bus)

    async def follow(received: list[int]) -> None:
        async for found in live.events(principal=principal, run_id=run_id, after_seq=0):
            received.append(found.seq)

    for delay in (0, 0.001, 0.005, 0.02):  # cancelled at every stage of subscribing
        leaving = asyncio.create_task(follow([]))
        await asyncio.sleep(delay)
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
    staying: list[int] = []
    task = asyncio.create_task(follow(staying))
    for type_ in ("step.completed", "run.completed"):
        async with transaction(committing_session_factory) as session:
            await append_run_event(session, run_id=run_id, type=type_, payload={})
    await asyncio.wait_for(task, 10)

    assert staying == [1, 2]
    assert bus.subscriber_count() == 0
