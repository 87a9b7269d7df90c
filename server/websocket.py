"""GraphQL over WebSocket, protocol graphql-transport-ws: auth, origins, a cap per connection.

The token comes in the `connection_init` payload (browsers cannot set headers on a
WebSocket): `{"authorization": "Bearer <token>"}`. Close codes are the protocol's:
4400 bad message, 4401 subscribe before ack, 4403 missing or bad token (also when the
token is revoked or expires while the connection is open), 4406 other subprotocol, 4408
no init in time, 4409 duplicate id, 4429 second init.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from resolvers.errors import Unauthenticated
from resolvers.tokens import Principal
from schema.context import Context
from schema.subscription import SHARED_SUBSCRIPTIONS
from server.artifacts import artifact_links
from server.auth import authenticate
from server.services import Services
from server.token_watch import TokenWatch
from server.websocket_fan_out import SubscriberSocket, SubscriptionGroups
from server.websocket_operations import (
    OperationFailed,
    OperationRequest,
    execute_operation,
    subscription_field,
)

logger = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
GRAPHQL_PATH = "/graphql"
INIT_TIMEOUT_S = 10.0


def origin_allowed(websocket: WebSocket, services: Services) -> bool:
    """Browsers send Origin: it must be the api's own or one of TESTRUN_ALLOWED_ORIGINS."""
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser; the token still decides
        return True
    allowed = services.settings.allowed_origins
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    same_origin = f"{scheme}://{websocket.headers.get('host', '')}"
    own = {services.settings.base_url, same_origin}
    return "*" in allowed or origin.rstrip("/") in {*own, *allowed}


def init_secret(payload: object) -> str:
    """The token of a `connection_init` payload: `authorization: Bearer <t>` or `token`."""
    if isinstance(payload, dict):
        value = payload.get("authorization") or payload.get("Authorization")
        if isinstance(value, str):
            scheme, _, secret = value.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
        token = payload.get("token")
        if isinstance(token, str) and token.strip():
            return token.strip()
    raise Unauthenticated("Missing token: send {authorization: 'Bearer <token>'}")


class GraphQLConnection:
    """One client's WebSocket: its principal and running operations."""

    __slots__ = (
        "_closing",
        "_init_deadline",
        "_unwatch",
        "groups",
        "initialized",
        "logins",
        "operations",
        "principal",
        "services",
        "token_watch",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        groups: SubscriptionGroups,
        token_watch: TokenWatch,
        logins: asyncio.Semaphore,
    ) -> None:
        self.websocket = websocket
        self.logins = logins
        self.services = services
        self.groups = groups
        self.token_watch = token_watch
        self._unwatch: Callable[[], None] | None = None
        self.principal: Principal | None = None
        self.initialized = False
        # Each running operation: its own task, or its place in a shared subscription.
        self.operations: dict[str, asyncio.Task[None] | SubscriberSocket] = {}
        self._init_deadline: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        """Answer messages until the client leaves or breaks the protocol."""
        loop = asyncio.get_running_loop()
        self._init_deadline = loop.call_later(INIT_TIMEOUT_S, self._init_timeout)
        try:
            while await self._receive():
                pass
        finally:
            self._init_deadline.cancel()
            if self._unwatch is not None:
                self._unwatch()
            for operation in tuple(self.operations.values()):
                operation.cancel()

    async def _receive(self) -> bool:
        """Wait for a message and act on it; False once the connection is over.

        Nothing of a message stays referenced while waiting for the next one.
        """
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return False
        text = message.get("text")
        found = _json_object(text) if text is not None else None
        if found is None:
            await self.close(4400, "Invalid message")
            return False
        return await self._handle(found)

    async def _handle(self, message: dict[str, Any]) -> bool:
        """Act on one message; False once the connection is closed."""
        kind = message.get("type")
        if kind == "connection_init":
            return await self._init(message.get("payload"))
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            return await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self.close(4400, f"Unknown message type: {kind!r}")
            return False
        return True

    async def _init(self, payload: object) -> bool:
        if self.initialized:
            await self.close(4429, "Too many initialisation requests")
            return False
        self.initialized = True
        if self._init_deadline is not None:
            self._init_deadline.cancel()
        try:
            async with self.logins:
                reads = self.services.read_sessions()
                try:
                    self.principal = await authenticate(self.services, reads, init_secret(payload))
                finally:
                    await reads.close()
        except Unauthenticated:
            await self.close(4403, "Forbidden")
            return False
        self._unwatch = self.token_watch.watch(self.principal.token_id, self._token_stopped)
        await self.send({"type": "connection_ack"})
        return True

    async def _token_stopped(self) -> None:
        for operation in tuple(self.operations.values()):
            operation.cancel()
        await self.close(4403, "Token revoked or expired")

    async def _subscribe(self, message: dict[str, Any]) -> bool:
        if self.principal is None:
            await self.close(4401, "Unauthorized")
            return False
        id_, request = message.get("id"), _request(message.get("payload"))
        if not isinstance(id_, str) or not id_ or request is None:
            await self.close(4400, "Invalid subscribe message")
            return False
        if id_ in self.operations:
            await self.close(4409, f"Subscriber for {id_} already exists")
            return False
        limit = self.services.settings.max_subscriptions_per_connection
        if len(self.operations) >= limit:
            error = {
                "message": f"Too many subscriptions: at most {limit} per connection",
                "extensions": {"code": "FORBIDDEN"},
            }
            await self.send({"id": id_, "type": "error", "payload": [error]})
            return True
        field = subscription_field(request)
        if field in SHARED_SUBSCRIPTIONS:
            member = SubscriberSocket(
                self.websocket, id_, request, self.principal, self._context, self._ended
            )
            self.operations[id_] = member
            self.groups.subscribers += 1
            self.groups.subscribe(member, field)
        else:
            counted = field is not None
            self.operations[id_] = asyncio.create_task(self._operate(id_, request, counted))
        return True

    def _ended(self, member: SubscriberSocket) -> None:
        self.groups.subscribers -= 1
        if self.operations.get(member.id) is member:
            del self.operations[member.id]

    async def _operate(self, id_: str, request: OperationRequest, counted: bool) -> None:
        """Run an operation of its own: a query, a mutation or an unshared subscription."""
        frame = '{"id":' + json.dumps(id_) + ',"type":"next","payload":'
        self.groups.subscribers += counted
        try:
            shared = self.groups.shared
            results = execute_operation(request, new_context=self._context, shared=shared)
            async for payload in results:
                await self.websocket.send({"type": "websocket.send", "text": frame + payload + "}"})
            await self.send({"id": id_, "type": "complete"})
        except OperationFailed as failed:
            await self.send({"id": id_, "type": "error", "payload": failed.errors})
        except (WebSocketDisconnect, OSError):
            pass  # the client left while we were sending
        except Exception:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                logger.exception("operation %s failed", id_)
        finally:
            self.groups.subscribers -= counted
            if self.operations.get(id_) is asyncio.current_task():
                del self.operations[id_]

    def _context(self) -> Context:
        return Context(
            session_factory=self.services.session_factory,
            caller=self.principal,
            dispatcher=self.services.dispatcher,
            live=self.services.live,
            read_session_factory=self.services.read_sessions,
            links=artifact_links(self.services.settings, self.services.settings.base_url),
            flaky_window=self.services.settings.flaky_window,
            dead_letters=self.services.dead_letters,
        )

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message (quietly nothing once the client left)."""
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def close(self, code: int, reason: str) -> None:
        """Close with a protocol code."""
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
                await self.websocket.close(code, reason)

    def _init_timeout(self) -> None:
        if not self.initialized:
            self._closing = asyncio.create_task(
                self.close(4408, "Connection initialisation timeout")
            )


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _request(payload: object) -> OperationRequest | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables = payload.get("variables") or {}
    name = payload.get("operationName")
    if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
        return None
    return OperationRequest(query=payload["query"], variables=variables, operation_name=name)


async def graphql_websocket(websocket: WebSocket) -> None:
    """The `/graphql` WebSocket endpoint."""
    services: Services = websocket.app.state.services
    if not origin_allowed(websocket, services):
        logger.info("websocket from origin %s refused", websocket.headers.get("origin"))
        await websocket.close(1008)  # before accepting: the client sees HTTP 403
        return
    if PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.accept()
        await websocket.close(4406, "Subprotocol not acceptable")
        return
    await websocket.accept(subprotocol=PROTOCOL)
    state = websocket.app.state
    if getattr(state, "token_watch", None) is None:
        state.token_watch = TokenWatch(
            services.read_sessions, interval_s=services.settings.token_recheck_s
        )
    groups: SubscriptionGroups = state.subscription_groups
    if getattr(state, "logins", None) is None:
        # A thousand dashboards reconnecting at once wait here, not each holding a session
        # (and its greenlet) while the pool is busy: the storm leaves the heap smaller.
        state.logins = asyncio.Semaphore(services.settings.db_pool_size)
    await GraphQLConnection(websocket, services, groups, state.token_watch, state.logins).serve()


class GraphQLSocketShortcut:
    """Hands WebSockets on `/graphql` straight to `graphql_websocket`.

    Outermost of our middleware: the others pass WebSockets through anyway, and skipping
    them and the router leaves a thousand open subscriptions a few KB lighter each, and
    every frame sent one wrapper shorter.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a GraphQL WebSocket, or pass anything else on."""
        if scope["type"] == "websocket" and scope["path"] == GRAPHQL_PATH:
            await graphql_websocket(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)
