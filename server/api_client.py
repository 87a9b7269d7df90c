"""A client of a running api for the `testrun` command: GraphQL over HTTP and WebSocket, reports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

# How long one HTTP request or the WebSocket handshake may take before the api counts as down.
REQUEST_TIMEOUT_S = 30.0


class ApiError(Exception):
    """The api could not be reached, refused the token, or answered with an error."""


@dataclass(frozen=True)
class ApiClient:
    """The api at `url` (e.g. http://localhost:8000), called with a bearer `token`."""

    url: str
    token: str

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def websocket_url(self) -> str:
        """Where GraphQL subscriptions are served (ws:// or wss://)."""
        base = self.url.rstrip("/")
        return "ws" + base.removeprefix("http") + "/graphql"

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            async with httpx.AsyncClient(
                base_url=self.url.rstrip("/"), timeout=REQUEST_TIMEOUT_S
            ) as client:
                response = await client.request(method, path, headers=self._headers, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(f"cannot reach the api at {self.url}: {error}") from error
        if response.status_code == 401:
            raise ApiError(f"the api at {self.url} refused the token: {_detail(response)}")
        if response.status_code == 403:
            raise ApiError(f"the token may not do this: {_detail(response)}")
        return response

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """The `data` of a query or mutation; ApiError with the errors' messages if any."""
        response = await self._request(
            "POST", "/graphql", json={"query": query, "variables": variables}
        )
        try:
            body = response.json()
        except ValueError as error:
            status = response.status_code
            raise ApiError(f"{self.url}/graphql answered {status}, not JSON") from error
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise ApiError("; ".join(str(error.get("message")) for error in errors))
        if response.status_code != 200 or not isinstance(body.get("data"), dict):
            raise ApiError(f"{self.url}/graphql answered {response.status_code}")
        data: dict[str, Any] = body["data"]
        return data

    async def junit_report(self, run_id: str) -> bytes:
        """The run's JUnit XML, as the api renders it."""
        response = await self._request(
            "GET", f"/api/v1/test-runs/{run_id}/report", params={"format": "junit"}
        )
        if response.status_code != 200:
            raise ApiError(f"the JUnit report of run {run_id}: {_detail(response)}")
        return response.content

    async def subscribe(
        self, subscriptions: dict[str, tuple[str, dict[str, Any]]]
    ) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
        """Results of several subscriptions over one graphql-transport-ws connection.

        `subscriptions` maps a name to (query, variables); each result comes as (name, data),
        and (name, None) when that subscription completes. Ends when all have completed.
        """
        try:
            socket = await websockets.connect(
                self.websocket_url,
                subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
                open_timeout=REQUEST_TIMEOUT_S,
                max_size=None,
            )
        except (OSError, websockets.WebSocketException) as error:
            raise ApiError(f"cannot subscribe at {self.websocket_url}: {error}") from error
        async with socket:
            await _send(socket, type="connection_init", payload={"authorization": self._auth})
            ack = await _receive(socket)
            if ack.get("type") != "connection_ack":
                raise ApiError(f"the api refused the subscription: {ack}")
            for key, (query, variables) in subscriptions.items():
                await _send(
                    socket,
                    id=key,
                    type="subscribe",
                    payload={"query": query, "variables": variables},
                )
            open_ = set(subscriptions)
            while open_:
                message = await _receive(socket)
                kind, name = message.get("type"), message.get("id")
                if kind == "ping":
                    await _send(socket, type="pong")
                elif kind == "next" and isinstance(name, str):
                    payload = message.get("payload") or {}
                    if payload.get("errors"):
                        raise ApiError(_messages(payload["errors"]))
                    yield name, payload.get("data") or {}
                elif kind == "error":
                    raise ApiError(_messages(message.get("payload") or []))
                elif kind == "complete" and isinstance(name, str):
                    open_.discard(name)
                    yield name, None

    @property
    def _auth(self) -> str:
        return f"Bearer {self.token}"


async def _send(socket: websockets.ClientConnection, **message: Any) -> None:
    await socket.send(json.dumps(message))


async def _receive(socket: websockets.ClientConnection) -> dict[str, Any]:
    try:
        raw = await socket.recv()
    except websockets.ConnectionClosed as error:
        reason = error.rcvd.reason if error.rcvd else "no reason given"
        raise ApiError(f"the api closed the subscription: {reason}") from error
    message: dict[str, Any] = json.loads(raw)
    return message


def _messages(errors: object) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)
    return str(errors)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail"))
    except ValueError:
        return f"HTTP {response.status_code}"
