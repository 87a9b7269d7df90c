"""Subscribers sharing a stream: their own shapes, joining late, a socket falling behind."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import websockets
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from tests.factories import make_run
from tests.live.harness import (
    CHANGES,
    EVENTS,
    UPDATES,
    Api,
    Writer,
    api_process,
    raw_socket,
    receive,
    scrape,
    send,
    subscribed,
)

SEQS_ONLY = """
subscription Seqs($runId: UUID!, $afterSeq: Int!) {
  testRunEvents(runId: $runId, afterSeq: $afterSeq) { seq }
}
"""
BIG_EVENTS = """
subscription Big($runId: UUID!, $afterSeq: Int!) {
  testRunEvents(runId: $runId, afterSeq: $afterSeq) { seq payload }
}
"""
# Events this big fill a socket's buffers in a few frames: 5 strings of 90,000 characters.
BIG = {f"part{n}": "x" * 90_000 for n in range(5)}


async def running_run(writer: Writer) -> uuid.UUID:
    async with transaction(writer.team.sessions) as session:
        run = await make_run(session, writer.team.project, writer.team.user, status="running")
    return run.id


def seqs(results: list[dict[str, Any]], field: str = "testRunEvents") -> list[int]:
    return [result[field]["seq"] for result in results]


async def test_subscribers_with_different_selections_each_get_their_own_shape(
    api: Api, writer: Writer
) -> None:
    run_id = await running_run(writer)
    token, other_token = await writer.token(), await writer.token()
    variables = {"runId": str(run_id), "afterSeq": 0}
    async with (
        subscribed(api, token, EVENTS, **variables) as full,
        subscribed(api, other_token, EVENTS, **variables) as same,
        subscribed(api, token, SEQS_ONLY, **variables) as slim,
    ):
        for n in range(3):
            await writer.event(run_id, step=n)
        await writer.event(run_id, "run.completed", status="completed")
        await asyncio.wait_for(
            asyncio.gather(full.done.wait(), same.done.wait(), slim.done.wait()), 30
        )

    assert full.error is None and same.error is None and slim.error is None
    assert seqs(full.results) == seqs(same.results) == seqs(slim.results) == [1, 2, 3, 4]
    assert full.results == same.results
    assert full.results[0]["testRunEvents"] == {
        "runId": str(run_id),
        "seq": 1,
        "type": "step.completed",
        "payload": {"step": 0},
    }
    assert [result["testRunEvents"] for result in slim.results] == [
        {"seq": 1},
        {"seq": 2},
        {"seq": 3},
        {"seq": 4},
    ]


async def test_a_subscriber_joining_late_gets_the_log_so_far_then_every_new_event(
    api: Api, writer: Writer
) -> None:
    run_id = await running_run(writer)
    token = await writer.token()
    variables = {"runId": str(run_id), "afterSeq": 0}
    async with subscribed(api, token, EVENTS, **variables) as early:
        for n in range(3):
            await writer.event(run_id, step=n)
        await early.wait_for(lambda results: len(results) == 3)
        async with subscribed(api, token, EVENTS, **variables) as late:
            await late.wait_for(lambda results: len(results) == 3)
            await writer.event(run_id, step=3)
            await writer.event(run_id, "run.completed", status="completed")
            await asyncio.wait_for(asyncio.gather(early.done.wait(), late.done.wait()), 30)

    assert late.error is None
    assert seqs(early.results) == seqs(late.results) == [1, 2, 3, 4, 5]
    assert late.results == early.results


async def test_a_snapshot_subscriber_joining_late_gets_the_run_as_it_is_now(
    api: Api, writer: Writer
) -> None:
    run_id = await running_run(writer)
    token = await writer.token()
    async with subscribed(api, token, UPDATES, runId=str(run_id)) as early:
        await early.wait_for(lambda results: len(results) == 1)
        seq = await writer.event(run_id, "item.updated", status="running")
        await early.wait_for(lambda results: results[-1]["testRunUpdates"]["eventSeq"] == seq)
        async with subscribed(api, token, UPDATES, runId=str(run_id)) as late:
            await late.wait_for(lambda results: len(results) >= 1)
            newer = await writer.event(run_id, "item.updated", status="running")
            await late.wait_for(lambda results: results[-1]["testRunUpdates"]["eventSeq"] == newer)

    assert late.results[0]["testRunUpdates"]["eventSeq"] == seq
    assert early.results[-1] == late.results[-1]


async def slow_socket(api: Api) -> websockets.ClientConnection:
    """A socket with a tiny receive buffer, which stops reading when two messages wait."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", api.port))
    return await raw_socket(api, sock=sock, max_queue=2, max_size=None)


async def test_a_socket_that_falls_behind_delays_no_one_and_is_resynced_without_gaps(
    migrated_database_url: str,
    redis_url: str,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    writer = await Writer.create(committing_session_factory, redis_url)
    run_id = await running_run(writer)
    token = await writer.token()
    variables = {"runId": str(run_id), "afterSeq": 0}
    with api_process(migrated_database_url, redis_url, TESTRUN_SUBSCRIBER_QUEUE_LIMIT="2") as api:
        slow = await slow_socket(api)
        await send(slow, {"type": "connection_init", "payload": {"token": token}})
        assert (await receive(slow))["type"] == "connection_ack"
        payload = {"query": BIG_EVENTS, "variables": variables}
        await send(slow, {"id": "slow", "type": "subscribe", "payload": payload})
        async with subscribed(api, token, BIG_EVENTS, **variables) as fast:
            for _ in range(20):  # 9 MB for a socket that reads nothing meanwhile
                await writer.event(run_id, **BIG)
            await writer.event(run_id, "run.completed", status="completed")
            await asyncio.wait_for(fast.done.wait(), 60)

            frames = []
            while (message := await receive(slow, timeout=60))["type"] == "next":
                frames.append(message["payload"]["data"]["testRunEvents"])
        await slow.close()
        log = api.output.drain()
    await writer.aclose()

    assert fast.error is None
    assert seqs(fast.results) == list(range(1, 22))
    assert message == {"id": "slow", "type": "complete"}
    assert [frame["seq"] for frame in frames] == list(range(1, 22))
    assert all(frame["payload"] == BIG for frame in frames[:20])
    assert "fell behind" in log
    assert "Traceback" not in log


async def gauge_once(api: Api, settled: Any) -> float:
    """testrun_websocket_subscribers once `settled` (or as it is after 10 s)."""
    for _ in range(100):
        value = scrape(f"{api.http_url}/metrics", None)[("testrun_websocket_subscribers", ())]
        if settled(value):
            break
        await asyncio.sleep(0.1)
    return value


async def test_the_subscriber_gauge_counts_each_socket_of_a_shared_subscription(
    migrated_database_url: str,
    redis_url: str,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    writer = await Writer.create(committing_session_factory, redis_url)
    run_id = await running_run(writer)
    token = await writer.token()
    variables = {"runId": str(run_id), "afterSeq": 0}
    project = {"projectId": str(writer.team.project.id)}
    with api_process(migrated_database_url, redis_url, TESTRUN_METRICS_PUBLIC="1") as api:
        async with (
            subscribed(api, token, EVENTS, **variables) as first,
            subscribed(api, token, EVENTS, **variables) as second,
            subscribed(api, token, CHANGES, **project),
        ):
            await writer.event(run_id, step=1)
            for received in (first, second):
                await received.wait_for(lambda results: len(results) == 1)
            # The list page's subscription starts a moment after its client connected.
            while_open = await gauge_once(api, lambda value: value == 3)
        after = await gauge_once(api, lambda value: value == 0)
    await writer.aclose()

    assert while_open == 3
    assert after == 0
