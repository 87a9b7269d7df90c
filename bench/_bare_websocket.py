"""The floor of bench/live_latency: a bare Starlette endpoint fanning one frame out to all.

Clients connect to /ws; a message `<seq>` on /control makes the server build one
pre-serialized `next` frame and send it to every connected socket, one after the other.
Run with uvicorn, per-message compression off, like `testrun api`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SOCKETS: set[WebSocket] = set()
FRAME = '{"id":"1","type":"next","payload":{"data":{"testRunEvents":{"seq":%s,"type":"step"}}}}'


async def subscriber(websocket: WebSocket) -> None:
    await websocket.accept()
    SOCKETS.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        SOCKETS.discard(websocket)


async def control(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            frame = FRAME % int(await websocket.receive_text())
            for socket in tuple(SOCKETS):
                await socket.send({"type": "websocket.send", "text": frame})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws", subscriber), WebSocketRoute("/control", control)])
