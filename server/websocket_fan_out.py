"""Shared subscriptions over WebSocket: one stream per document, fanned out as the same bytes.

A thousand dashboards following one run ask the same thing. Those with the same document,
variables and project share one `SubscriptionGroup`: one bus subscription, one execution
of the selection per event, and one loop that hands the JSON to every socket in turn,
with no task per subscriber. A socket that cannot take more waits in its own short queue;
one that falls further behind than `queue_limit` leaves the group and is resynced on a
stream of its own, from the last result it was sent, which keeps pace with that socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Hashable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from resolvers.tokens import Principal
from schema.context import Context
from schema.subscription import SHARED_SUBSCRIPTIONS
from server.websocket_operations import (
    OperationFailed,
    OperationRequest,
    SharedResults,
    keyed_results,
    operation_key,
)

logger = logging.getLogger(__name__)

# Results of an event log a group keeps for subscribers joining late; past this, late
# subscribers start a group of their own.
HISTORY_KEPT = 1000
# What a send to a socket that went away raises (Starlette, uvicorn, a closed transport).
GONE = (WebSocketDisconnect, OSError, RuntimeError)


class SubscriberSocket:
    """One subscription of one connection: the frames it was sent and those still waiting."""

    __slots__ = (
        "_prefix",
        "caller",
        "done",
        "finished",
        "group",
        "id",
        "last_key",
        "new_context",
        "pending",
        "request",
        "sending",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        id_: str,
        request: OperationRequest,
        caller: Principal,
        new_context: Callable[[], Context],
        done: Callable[[SubscriberSocket], None],
    ) -> None:
        self.websocket = websocket
        self.caller = caller
        self.id = id_
        self.request = request
        self.new_context = new_context
        self.done = done
        self.finished = False
        self.group: SubscriptionGroup | None = None
        self._prefix = '{"id":' + json.dumps(id_) + ',"type":"next","payload":'
        # Created when the socket first cannot take a frame at once.
        self.pending: deque[tuple[str, Hashable | None]] | None = None
        self.sending: asyncio.Task[None] | None = None
        # The live key of the last result handed to the socket: a resync starts after it.
        self.last_key: Hashable | None = None

    def next(self, payload: str, key: Hashable | None) -> bool:
        """Send a `next` message; False when this subscriber has too many waiting."""
        return self.send(self._prefix + payload + "}", key)

    def end(self, message: dict[str, Any]) -> None:
        """Send the operation's last message (complete or error) and stop being a subscriber."""
        self.group = None  # the last message is never dropped for being behind
        self.send(json.dumps({"id": self.id, **message}, separators=(",", ":")), None)
        self._finish()

    def send(self, frame: str, key: Hashable | None) -> bool:
        """Hand `frame` to the socket now, or queue it behind the one still being written."""
        if self.sending is None:
            self._write(frame, key)
            return True
        if self.pending is None:
            self.pending = deque()
        elif self.group is not None and len(self.pending) >= self.group.groups.queue_limit:
            return False
        self.pending.append((frame, key))
        return True

    def cancel(self) -> None:
        """Stop at once (the client completed it, left, or its token stopped working)."""
        self.pending = None
        if self.group is not None:
            self.group.leave(self)
            self.group = None
        if self.sending is not None:
            self.sending.cancel()
        self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.done(self)

    def _write(self, frame: str, key: Hashable | None) -> None:
        if key is not None:
            self.last_key = key
        try:
            self.sending = start(self.websocket.send({"type": "websocket.send", "text": frame}))
        except GONE:
            self.cancel()
            return
        if self.sending is not None:
            self.sending.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self.sending = None
        if task.cancelled() or task.exception() is not None:
            self.cancel()
        elif self.pending:
            self._write(*self.pending.popleft())
        else:
            self.pending = None


class SubscriptionGroup:
    """One shared stream of results and the subscribers it is sent to."""

    def __init__(
        self,
        groups: SubscriptionGroups,
        request: OperationRequest,
        new_context: Callable[[], Context],
        *,
        key: Hashable | None,
        kept: int | None,
        after: Hashable | None = None,
    ) -> None:
        self.groups = groups
        self.request = request
        self.key = key
        self.members: dict[SubscriberSocket, None] = {}
        # Payloads (with their keys) a subscriber joining late is sent first.
        self.history: deque[tuple[str, Hashable | None]] = deque(maxlen=kept)
        self.joinable = True
        self._after = after
        self._task = asyncio.create_task(self._run(request, new_context))

    def join(self, member: SubscriberSocket) -> None:
        """Add `member`: it is sent what a subscriber gets first, then every new result."""
        member.group = self
        self.members[member] = None
        for payload, key in self.history:
            member.next(payload, key)

    def leave(self, member: SubscriberSocket) -> None:
        """Remove `member`; the last one to leave stops the stream."""
        self.members.pop(member, None)
        if not self.members:
            self._close()

    async def _run(self, request: OperationRequest, new_context: Callable[[], Context]) -> None:
        try:
            results = keyed_results(request, new_context=new_context, shared=self.groups.shared)
            async for key, payload in results:
                if self._after is not None and key is not None and _not_after(key, self._after):
                    continue  # the subscriber resynced has it already
                self._publish(payload, key)
                if self.key is None:
                    await self._sent()
            self._end({"type": "complete"})
        except OperationFailed as failed:
            self._end({"type": "error", "payload": failed.errors})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("shared subscription failed")
            self._end({"type": "complete"})

    def _publish(self, payload: str, key: Hashable | None) -> None:
        if self.joinable:
            if self.history.maxlen is None and len(self.history) >= HISTORY_KEPT:
                self._close_to_newcomers()
            else:
                self.history.append((payload, key))
        for member in tuple(self.members):
            if not member.next(payload, key):
                self._resync(member)

    async def _sent(self) -> None:
        """A stream of one subscriber's own keeps pace with its socket.

        Meanwhile its bus queue may overflow: the stream then reads the log instead.
        """
        for member in tuple(self.members):
            while member.sending is not None:
                await asyncio.wait([member.sending])

    def _resync(self, member: SubscriberSocket) -> None:
        """A member too far behind: its own stream, from after the last result it was sent."""
        logger.info("subscriber %s fell behind: resynced after %s", member.id, member.last_key)
        self.members.pop(member, None)
        member.pending = None
        own = SubscriptionGroup(
            self.groups,
            member.request,
            member.new_context,
            key=None,
            kept=0,
            after=member.last_key,
        )
        own.join(member)
        if not self.members:
            self._close()

    def _end(self, message: dict[str, Any]) -> None:
        self._close_to_newcomers()
        for member in tuple(self.members):
            member.end(message)
        self.members.clear()

    def _close_to_newcomers(self) -> None:
        self.joinable = False
        self.history.clear()
        self.groups.forget(self)

    def _close(self) -> None:
        self._close_to_newcomers()
        self._task.cancel()


class SubscriptionGroups:
    """The process's shared subscriptions, by what their results depend on."""

    def __init__(self, shared: SharedResults, *, queue_limit: int) -> None:
        self.shared = shared
        self.queue_limit = queue_limit
        self._groups: dict[Hashable, SubscriptionGroup] = {}
        # Subscriptions the process serves now, shared or not (its connections count them).
        self.subscribers = 0

    def subscribe(self, member: SubscriberSocket, field: str) -> None:
        """Join the group of `member`'s operation, starting it if there is none to join."""
        kept = SHARED_SUBSCRIPTIONS[field]
        key = operation_key(member.request, member.caller)
        group = self._groups.get(key)
        if group is None or not group.joinable:
            group = SubscriptionGroup(self, member.request, member.new_context, key=key, kept=kept)
            self._groups[key] = group
        else:
            member.request = group.request  # the same; one copy kept for all
        group.join(member)

    def forget(self, group: SubscriptionGroup) -> None:
        """Send no newcomer to `group` any more."""
        if group.key is not None and self._groups.get(group.key) is group:
            del self._groups[group.key]

    def __len__(self) -> int:
        return len(self._groups)


def start(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coroutine` until it first waits: None if it finished, else a task finishing it.

    Sending to a socket whose buffer has room never waits, so a fan-out loop sends to a
    thousand sockets without a task each, and only a socket that is full gets one.
    """
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return None
    except BaseException:
        coroutine.close()
        raise
    return asyncio.ensure_future(_Rest(coroutine, waiting))


class _Rest(Awaitable[None]):
    """The rest of a coroutine that already ran up to its first wait, `waiting`."""

    __slots__ = ("_coroutine", "_waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coroutine = coroutine
        self._waiting = waiting

    def __await__(self) -> Generator[Any, None, None]:
        coroutine, waiting = self._coroutine, self._waiting
        while True:
            try:
                yield waiting
            except BaseException as error:  # cancelled: the coroutine cleans up
                try:
                    waiting = coroutine.throw(error)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coroutine.send(None)
                except StopIteration:
                    return


def _not_after(key: Hashable, after: Hashable) -> bool:
    """Whether a result keyed `key` is one sent already, `after` being the last sent.

    Live keys of one subscription grow with time (a run's event seq), so this is order.
    """
    with contextlib.suppress(TypeError):
        return bool(key <= after)  # type: ignore[operator] # keys of one field are tuples
    return False
