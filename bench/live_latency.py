"""Commit -> subscriber latency of testRunEvents at 1, 100 and 1,000 WebSocket subscribers.

Through a real `testrun api` process: an event is committed (and published after commit)
here, and every subscriber records when its `next` message arrives. Beside it, in the
same run, the floors: a bare Starlette endpoint sending one pre-serialized frame to as
many sockets, and raw Redis PUBLISH -> SUBSCRIBE. Also the api's memory at 1,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psutil
import uvloop
import websockets
from redis.asyncio import Redis
from sqlalchemy import update

from bench import read_api
from bench._stack import databases, percentile, wait_for_api
from execution.events import RedisEventPublisher
from models.database import after_commit, create_engine, create_session_factory, transaction
from models.runs import TestRun
from resolvers.events import append_run_event, publish_committed_events, run_channel
from server.embedded import free_port

LEVELS = (1, 100, 1000)
EVENTS = {1: 300, 100: 100, 1000: 40}
WARMUP = 5
GAP_S = 0.02
SUBSCRIPTION = (
    "subscription Events($runId: UUID!, $afterSeq: Int!) {"
    " testRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type payload } }"
)


def seq_of(frame: str | bytes) -> int | None:
    """The `seq` of a `next` frame, found without parsing all of it (like a thin client)."""
    text = frame if isinstance(frame, str) else frame.decode()
    start = text.find('"seq":')
    if start < 0:
        return None
    end = start + 6
    while end < len(text) and text[end].isdigit():
        end += 1
    return int(text[start + 6 : end])


@dataclass
class Clients:
    """Connected sockets and, per seq, when each socket received it."""

    sockets: list[websockets.ClientConnection] = field(default_factory=list)
    received: dict[int, list[float]] = field(default_factory=dict)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def listen(self, socket: websockets.ClientConnection) -> None:
        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for frame in socket:
                    now = time.perf_counter()
                    seq = seq_of(frame)
                    if seq is not None:
                        self.received.setdefault(seq, []).append(now)

        self.sockets.append(socket)
        self.readers.append(asyncio.create_task(read()))

    async def until_all(self, seq: int, timeout: float = 10) -> None:
        deadline = time.perf_counter() + timeout
        while len(self.received.get(seq, ())) < len(self.sockets):
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"only {len(self.received.get(seq, ()))}/{len(self.sockets)} got {seq}"
                )
            await asyncio.sleep(0.001)

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(socket.close() for socket in self.sockets))


async def in_batches(count: int, connect: Callable[[], Awaitable[None]]) -> None:
    for start in range(0, count, 100):
        await asyncio.gather(*(connect() for _ in range(min(100, count - start))))


@dataclass
class Stack:
    """What the benchmark talks to."""

    database_url: str
    redis_url: str
    api_url: str
    bare_url: str
    api_pid: int
    bare_pid: int
    token: str
    run_id: uuid.UUID


async def seed(database_url: str) -> tuple[str, uuid.UUID]:
    """A viewer token and a running run without items (read_api's seed, then started)."""
    token, run_id, _ = await read_api.seed(database_url, 0)
    engine = create_engine(database_url, pool_size=1)
    async with transaction(create_session_factory(engine)) as session:
        await session.execute(update(TestRun).where(TestRun.id == run_id).values(status="running"))
    await engine.dispose()
    return token, run_id


def cpu_ms(pid: int) -> float:
    """CPU time the process `pid` used so far, in ms (user and system)."""
    times = psutil.Process(pid).cpu_times()
    return (times.user + times.system) * 1000


async def measure_api(stack: Stack, count: int) -> tuple[list[float], int, float]:
    """Latencies in ms over (subscriber, event) pairs, the api's RSS while subscribed, and
    its CPU ms per event (robust to a busy machine, unlike the latencies)."""
    engine = create_engine(stack.database_url, pool_size=2)
    sessions = create_session_factory(engine)
    redis = Redis.from_url(stack.redis_url)
    publish_committed_events(sessions, RedisEventPublisher(redis))
    clients = Clients()
    committed: dict[int, float] = {}

    async def commit(step: int) -> int:
        async with transaction(sessions) as session:

            async def mark() -> None:  # runs first after commit, before the publication
                committed[seq] = time.perf_counter()

            after_commit(session, mark)
            event = await append_run_event(
                session, run_id=stack.run_id, type="step.completed", payload={"step": step}
            )
            seq = event.seq
        return seq

    async with sessions() as session:
        run = await session.get(TestRun, stack.run_id)
        assert run is not None
        after_seq = run.event_seq

    async def connect() -> None:
        socket = await websockets.connect(
            stack.api_url, subprotocols=["graphql-transport-ws"], compression=None, max_queue=None
        )
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"token": stack.token}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        variables = {"runId": str(stack.run_id), "afterSeq": after_seq}
        payload = {"query": SUBSCRIPTION, "variables": variables}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        clients.listen(socket)

    await in_batches(count, connect)
    for step in range(WARMUP):  # every subscriber is subscribed once it received these
        await clients.until_all(await commit(step), timeout=60)
    samples: list[float] = []
    cpu_before = cpu_ms(stack.api_pid)
    for step in range(EVENTS[count]):
        seq = await commit(step)
        await clients.until_all(seq)
        samples += [(at - committed[seq]) * 1000 for at in clients.received[seq]]
        await asyncio.sleep(GAP_S)
    cpu = (cpu_ms(stack.api_pid) - cpu_before) / EVENTS[count]
    rss = psutil.Process(stack.api_pid).memory_info().rss
    await clients.close()
    await redis.aclose()
    await engine.dispose()
    return samples, rss, cpu


async def measure_bare(stack: Stack, count: int) -> tuple[list[float], float]:
    """Latencies in ms of the bare endpoint (control message -> each socket's frame), and
    its CPU ms per event."""
    clients = Clients()

    async def connect() -> None:
        socket = await websockets.connect(f"{stack.bare_url}/ws", compression=None, max_queue=None)
        clients.listen(socket)

    await in_batches(count, connect)
    control = await websockets.connect(f"{stack.bare_url}/control", compression=None)
    samples: list[float] = []
    cpu_before = 0.0
    for seq in range(1, WARMUP + EVENTS[count] + 1):
        if seq == WARMUP + 1:
            cpu_before = cpu_ms(stack.bare_pid)
        started = time.perf_counter()
        await control.send(str(seq))
        await clients.until_all(seq, timeout=60)
        if seq > WARMUP:
            samples += [(at - started) * 1000 for at in clients.received[seq]]
        await asyncio.sleep(GAP_S)
    await control.close()
    await clients.close()
    return samples, (cpu_ms(stack.bare_pid) - cpu_before) / EVENTS[count]


async def measure_redis(redis_url: str, rounds: int = 500) -> list[float]:
    """Latencies in ms of PUBLISH -> a subscribed client receiving it."""
    publisher, subscriber = Redis.from_url(redis_url), Redis.from_url(redis_url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    channel = run_channel(uuid.uuid4())
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)
    samples: list[float] = []
    for round_ in range(WARMUP + rounds):
        started = time.perf_counter()
        await publisher.publish(channel, b'{"seq":1}')
        while (await pubsub.get_message(timeout=5)) is None:
            pass
        if round_ >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
    await pubsub.aclose()
    await publisher.aclose()
    await subscriber.aclose()
    return samples


def line(name: str, samples: list[float]) -> str:
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    return f"  {name:<28} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


async def run_levels(stack: Stack) -> None:
    idle_rss = psutil.Process(stack.api_pid).memory_info().rss
    redis = await measure_redis(stack.redis_url)
    print(line("raw Redis PUBLISH->SUBSCRIBE", redis))
    for count in LEVELS:
        api, rss, api_cpu = await measure_api(stack, count)
        bare, bare_cpu = await measure_bare(stack, count)
        print(f"{count} subscriber(s): {len(api)} (subscriber, event) pairs")
        print(line("testRunEvents commit->recv", api))
        print(line("bare websocket fan-out", bare))
        p50 = percentile(api, 50) / percentile(bare, 50)
        p99 = percentile(api, 99) / percentile(bare, 99)
        print(f"  {'ratio to bare':<28} p50 {p50:7.1f} x    p99 {p99:7.1f} x")
        print(
            f"  {'server CPU per event':<28} api {api_cpu:6.2f} ms   bare {bare_cpu:6.2f} ms"
            f"   ({api_cpu / bare_cpu:.1f} x)"
        )
        if count == max(LEVELS):
            print(
                f"  api RSS {rss / 2**20:.0f} MB with {count} subscribers "
                f"({idle_rss / 2**20:.0f} MB idle)"
            )
    print("targets: p99 <= 25 ms at 100; p99 <= 1.5x bare at 1000; RSS <= 130 MB")


def main() -> None:
    """Run the benchmark and print its figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    processes: list[subprocess.Popen[bytes]] = []
    with databases() as (database_url, redis_url):
        try:
            token, run_id = asyncio.run(seed(database_url))
            api_port, bare_port = free_port(), free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "TESTRUN_PORT": str(api_port),
                "TESTRUN_LOG_LEVEL": "warning",
                "TESTRUN_MAX_SUBSCRIPTIONS_PER_CONNECTION": "5",
            }
            api = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "api"], env=env, stdout=subprocess.DEVNULL
            )
            processes.append(api)
            bare = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench._bare_websocket:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--ws-per-message-deflate",
                    "false",
                ],
                stdout=subprocess.DEVNULL,
            )
            processes.append(bare)
            wait_for_api(f"http://127.0.0.1:{api_port}", api)
            time.sleep(1)  # the bare server has no health route; it starts in well under this
            stack = Stack(
                database_url=database_url,
                redis_url=redis_url,
                api_url=f"ws://127.0.0.1:{api_port}/graphql",
                bare_url=f"ws://127.0.0.1:{bare_port}",
                api_pid=api.pid,
                bare_pid=bare.pid,
                token=token,
                run_id=run_id,
            )
            uvloop.run(run_levels(stack))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
