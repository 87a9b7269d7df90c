"""`/live/{item_id}`: the live view of a local sandbox's page, the `vnc_url` of its item.

The worker casts the page to Redis while the item is watched (execution/live_view.py);
here a viewer gets a small page around an MJPEG stream of those frames, which any
browser shows in a plain `<img>`. The URL carries a signature instead of a token, so it
opens from a dashboard link as it is.
"""

from __future__ import annotations

import asyncio
import html
import time
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from execution.live_view import WATCHED_TTL_S, frames_channel, live_view_valid, watched_key
from server.services import Services

BOUNDARY = "frame"
# A stream with no frame for this long ends (the test case is over or nobody casts).
IDLE_END_S = 600.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Live view · {item}</title>
<style>
body {{ margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }}
header {{ padding: 8px 12px; }}
img {{ display: block; max-width: 100%; margin: 0 auto; background: #222; min-height: 200px; }}
</style></head>
<body><header>Live view of test run item {item}: the picture follows the page while it
changes, and stays on the last one when the test case ends.</header>
<img src="{stream}" alt="The test case's browser page"></body></html>
"""


def _verified_item(request: Request) -> uuid.UUID | None:
    services: Services = request.app.state.services
    try:
        item_id = uuid.UUID(request.path_params["item_id"])
    except ValueError:
        return None
    signature = request.query_params.get("sig", "")
    secret = services.settings.secret_key.get_secret_value()
    return item_id if live_view_valid(secret, item_id, signature) else None


def _not_found(request: Request) -> JSONResponse:
    return JSONResponse(
        {"detail": f"Live view not found: {request.path_params['item_id']}"}, status_code=404
    )


async def live_page(request: Request) -> Response:
    """The page around the stream; 404 unless the URL is signed for this item."""
    item_id = _verified_item(request)
    if item_id is None:
        return _not_found(request)
    stream = f"/live/{item_id}/stream?sig={html.escape(request.query_params['sig'])}"
    return HTMLResponse(PAGE.format(item=item_id, stream=stream))


async def live_stream(request: Request) -> Response:
    """The frames as `multipart/x-mixed-replace` JPEGs, for as long as the viewer stays."""
    item_id = _verified_item(request)
    if item_id is None:
        return _not_found(request)
    services: Services = request.app.state.services
    if services.redis is None:  # inline mode: no worker casts, and sandboxes give no vnc_url
        return _not_found(request)
    return StreamingResponse(
        _frames(services.redis, item_id),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )


async def _frames(redis: Redis, item_id: uuid.UUID) -> AsyncIterator[bytes]:
    """Mark the item watched (so its worker casts) and pass on each frame it publishes."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(frames_channel(item_id))
    marked = 0.0
    last_frame = time.monotonic()
    try:
        while time.monotonic() - last_frame < IDLE_END_S:
            if time.monotonic() - marked > WATCHED_TTL_S / 2:
                await redis.set(watched_key(item_id), 1, ex=WATCHED_TTL_S)
                marked = time.monotonic()
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or not isinstance(message["data"], bytes):
                continue
            last_frame = time.monotonic()
            jpeg: bytes = message["data"]
            yield (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                + jpeg
                + b"\r\n"
            )
    finally:
        # The viewer left (the response is cancelled): stop listening, at once.
        await asyncio.shield(pubsub.aclose())
