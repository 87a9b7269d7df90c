"""Run events on Redis: the publisher every process uses, and the api's subscription bus.

The bus holds one pub/sub connection per process and fans each message out to bounded
per-subscriber queues. A subscriber that falls behind, or every subscriber after Redis
came back, is told to resync (it reads the log) instead of slowing anyone down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from execution.metrics import EVENT_PUBLISH_SECONDS
from resolvers.events import LiveEvent, project_channel, run_channel

logger = logging.getLogger(__name__)
Outbox = asyncio.Queue[tuple[str, ...]]

# How long a writer waits for Redis after its commit before giving up on publishing.
PUBLISH_TIMEOUT_S = 1.0
# Events a subscriber may have waiting before it is resynced from the log instead.
DEFAULT_QUEUE_LIMIT = 256
# Silence on the pub/sub connection is checked with a PING this often...
PING_INTERVAL_S = 10.0
# ...and reconnection after a failure waits this long, doubling up to the maximum.
RECONNECT_DELAYS_S = (0.05, 2.0)


class RedisEventPublisher:
    """Publishes committed events on their run's and project's channels, in one round trip."""

    def __init__(self, redis: Redis, *, timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
        self.redis = redis
        self.timeout_s = timeout_s

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Send `events` in order; a Redis failure is logged, never raised to the writer."""
        if not events:
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                started = time.perf_counter()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for event in events:
                        data = event.encode()
                        pipe.publish(run_channel(event.run_id), data)
                        pipe.publish(project_channel(event.project_id), data)
                    await pipe.execute()
                EVENT_PUBLISH_SECONDS.observe(time.perf_counter() - started)
        except (RedisError, OSError, TimeoutError) as error:
            logger.warning(
                "run events not published, subscribers will read them from the log: %s "
                "(run %s, seq %d-%d)",
                error or type(error).__name__,
                events[0].run_id,
                events[0].seq,
                events[-1].seq,
            )


class Subscriber:
    """One subscriber's bounded queue of events; overflowing turns into one resync."""

    __slots__ = ("_limit", "_missed", "_queue", "_waiter")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._queue: deque[LiveEvent] = deque()
        self._missed = False
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: LiveEvent) -> None:
        """Queue `event`; when the queue is full, drop it all and mark the subscriber lagged."""
        if self._missed:
            return  # it reads the log on its next `next()`, which covers this event
        if len(self._queue) >= self._limit:
            self.resync()
            return
        self._queue.append(event)
        self._wake()

    def resync(self) -> None:
        """Events may be lost: the next `next()` says so (None) instead of returning one."""
        self._queue.clear()
        self._missed = True
        self._wake()

    def ready(self) -> bool:
        """Whether `next()` would return at once."""
        return self._missed or bool(self._queue)

    async def next(self) -> LiveEvent | None:
        """The next event, or None once after events were dropped."""
        while True:
            if self._missed:
                self._missed = False
                return None
            if self._queue:
                return self._queue.popleft()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class RedisEventBus:
    """The process's one Redis pub/sub connection, shared by all its subscribers.

    `subscribe(channel)` returns once Redis confirmed the subscription (or at once while
    Redis is away: every subscriber is resynced when it is back), so a subscriber that
    reads the log after entering cannot miss an event between the two.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        client_name: str | None = None,
    ) -> None:
        self.queue_limit = queue_limit
        self._pool = ConnectionPool.from_url(
            redis_url, socket_connect_timeout=2.0, socket_keepalive=True, client_name=client_name
        )
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._confirmed: set[str] = set()
        self._confirming: dict[str, asyncio.Future[None]] = {}
        self._resubscribing: set[str] = set()
        self._lock = asyncio.Lock()
        # Commands for the current connection, sent by its writer task; None while away.
        self._outbox: Outbox | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_heard = 0.0
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Connect (and keep reconnecting) in the background of the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-event-bus")

    async def aclose(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._pool.disconnect()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """A subscriber of `channel` from now on, until the block ends."""
        self.start()
        subscriber = Subscriber(self.queue_limit)
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            await self._confirm(channel)
            yield subscriber
        finally:
            await self._leave(channel, subscriber)

    def subscriber_count(self) -> int:
        """How many subscribers listen now, over all channels."""
        return sum(len(found) for found in self._subscribers.values())

    async def _confirm(self, channel: str) -> None:
        async with self._lock:
            if self._outbox is None or channel in self._confirmed:
                return  # confirmed already, or resynced once Redis is back
            confirmed = self._confirming.get(channel)
            if confirmed is None:
                confirmed = asyncio.get_running_loop().create_future()
                self._confirming[channel] = confirmed
                self._outbox.put_nowait(("SUBSCRIBE", channel))
            # Another SUBSCRIBE waits under this lock only after ours is confirmed.
            await asyncio.shield(confirmed)

    async def _leave(self, channel: str, subscriber: Subscriber) -> None:
        async with self._lock:
            listeners = self._subscribers.get(channel)
            if listeners is None:
                return
            listeners.discard(subscriber)
            if listeners:
                return
            del self._subscribers[channel]
            # A channel still being resubscribed after a reconnect stays subscribed: its
            # confirmation must not be mistaken for a later subscriber's.
            if self._outbox is not None and channel in self._confirmed:
                self._confirmed.discard(channel)
                self._outbox.put_nowait(("UNSUBSCRIBE", channel))

    async def _write(self, connection: AbstractConnection, outbox: Outbox) -> None:
        """Send queued commands from the bus's own task.

        A subscriber cancelled in the middle of a socket write would make redis-py drop
        the connection every subscriber shares, so subscribers only queue commands.
        """
        while True:
            command = await outbox.get()
            if not connection.is_connected:
                return  # the reader fails too, and reconnects
            try:
                await connection.send_command(*command, check_health=False)
            except (RedisError, OSError) as error:
                logger.warning("redis %s failed: %s", command[0], error)
                return

    async def _run(self) -> None:
        delay = RECONNECT_DELAYS_S[0]
        while True:
            connection: AbstractConnection = self._pool.make_connection()  # type: ignore[no-untyped-call] # redis-py leaves it unannotated
            try:
                await connection.connect()  # type: ignore[no-untyped-call] # unannotated in redis-py
                delay = RECONNECT_DELAYS_S[0]
                await self._listen(connection)
            except (RedisError, OSError) as error:
                logger.warning("redis event bus disconnected: %s; reconnecting", error)
            except Exception:  # a bug here must not end live updates for the process
                logger.exception("redis event bus failed; reconnecting")
            finally:
                await self._disconnected(connection)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_DELAYS_S[1])

    async def _listen(self, connection: AbstractConnection) -> None:
        async with self._lock:
            channels = sorted(self._subscribers)
            if channels:
                await connection.send_command("SUBSCRIBE", *channels, check_health=False)
            self._resubscribing = set(channels)
            outbox = self._outbox = asyncio.Queue()
        logger.info("redis event bus connected (%d channels)", len(channels))
        self.connected.set()
        if not channels:
            self._resync_all()
        helpers = [
            asyncio.create_task(self._write(connection, outbox)),
            asyncio.create_task(self._keepalive(connection, outbox)),
        ]
        try:
            while True:
                response = await connection.read_response(timeout=math.inf, push_request=True)
                self._last_heard = time.monotonic()
                self._handle(response)
        finally:
            for helper in helpers:
                helper.cancel()

    def _handle(self, response: Any) -> None:
        if not isinstance(response, list) or len(response) < 3:
            return
        kind, channel = response[0], response[1].decode()
        if kind == b"message":
            self._deliver(channel, response[2])
        elif kind == b"subscribe":
            self._confirmed.add(channel)
            confirmed = self._confirming.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            if channel in self._resubscribing:
                self._resubscribing.discard(channel)
                if not self._resubscribing:
                    self._resync_all()

    def _deliver(self, channel: str, data: bytes) -> None:
        listeners = self._subscribers.get(channel)
        if not listeners:
            return
        try:
            event = LiveEvent.decode(data)
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed message on %s: %r", channel, data[:200])
            return
        for subscriber in tuple(listeners):
            subscriber.put(event)

    def _resync_all(self) -> None:
        """Everyone reads the log: events published while we were away are only there."""
        for listeners in self._subscribers.values():
            for subscriber in listeners:
                subscriber.resync()

    async def _keepalive(self, connection: AbstractConnection, outbox: Outbox) -> None:
        """PING when idle; a connection silent for three intervals is dropped."""
        self._last_heard = time.monotonic()
        while True:
            await asyncio.sleep(PING_INTERVAL_S)
            if time.monotonic() - self._last_heard > 3 * PING_INTERVAL_S:
                logger.warning("redis event bus: no answer to PING; reconnecting")
                await connection.disconnect()
                return
            outbox.put_nowait(("PING",))

    async def _disconnected(self, connection: AbstractConnection) -> None:
        self.connected.clear()
        # Waiting subscribers go on first (one may hold the lock): the reconnect resyncs them.
        for confirmed in self._confirming.values():
            if not confirmed.done():
                confirmed.set_result(None)
        async with self._lock:
            self._outbox = None
            self._confirmed.clear()
            self._resubscribing.clear()
            self._confirming.clear()
        with contextlib.suppress(RedisError, OSError):
            await connection.disconnect()
