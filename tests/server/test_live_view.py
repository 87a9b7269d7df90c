"""The live view: a real Chromium (local, or remote over CDP) casting through Redis to the api."""

from __future__ import annotations

import asyncio
import contextlib
import html
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette

from execution.live_view import LiveViewConfig, watched_key
from execution.sandboxes.base import Sandbox, SandboxProvider, SandboxSpec
from execution.sandboxes.cdp import CdpSandboxProvider
from execution.sandboxes.chromium import find_chromium
from execution.sandboxes.local import LocalSandboxProvider
from server.artifacts import artifact_links
from server.embedded import free_port
from server.settings import Settings
from tests.fixtures.chromium_fleet import chromium_fleet

JPEG_START = b"\xff\xd8"
# A page that keeps painting, as pages under test do while steps play.
TICKING = """<h1 id="clock">0</h1>
<script>let n = 0; setInterval(() => { clock.textContent = ++n; }, 50);</script>"""


@pytest.fixture
async def api_url(app: Starlette) -> AsyncIterator[str]:
    """The app served by uvicorn on a real socket (streams need one)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


@pytest.fixture(params=["local", "cdp"])
async def sandbox(
    request: pytest.FixtureRequest, settings: Settings, redis_url: str, api_url: str
) -> AsyncIterator[Sandbox]:
    """A sandbox of each kind that has a screencast: a local Chromium, a fleet's over CDP."""
    config = LiveViewConfig(redis_url=redis_url, base_url=api_url)
    with contextlib.ExitStack() as stack:
        provider: SandboxProvider
        if request.param == "cdp":
            fleet = stack.enter_context(chromium_fleet(1))
            provider = CdpSandboxProvider([fleet[0].url], live_view=config)
        else:
            chromium = find_chromium(None)
            assert chromium is not None
            provider = LocalSandboxProvider(chromium, live_view=config)
        created = await provider.create(SandboxSpec(run_id=uuid.uuid4(), item_id=uuid.uuid4()))
        yield created
        await created.close()
        await provider.aclose()


async def first_frame(http: httpx.AsyncClient, url: str) -> tuple[str, bytes]:
    """The content type of the stream at `url` and its first JPEG."""
    async with http.stream("GET", url) as response:
        assert response.status_code == 200
        received = b""
        async for chunk in response.aiter_bytes():
            received += chunk
            head, _, rest = received.partition(b"\r\n\r\n")
            if rest and b"Content-Length:" in head:
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    return response.headers["content-type"], rest[:length]
    raise AssertionError("the stream ended without a frame")


def signed(settings: Settings, sandbox: Sandbox, *, ttl_s: int = 60) -> tuple[uuid.UUID, str]:
    """The item's live view URL as GraphQL and REST answer it: signed when read."""
    assert sandbox.vnc_url is not None
    item_id = uuid.UUID(sandbox.vnc_url.split("/live/")[1])
    base = sandbox.vnc_url.split("/live/")[0]
    links = artifact_links(settings.model_copy(update={"artifact_url_ttl_s": ttl_s}), base)
    url = links.live_view(sandbox.vnc_url, item_id=item_id)
    assert url is not None
    return item_id, url


async def test_the_vnc_url_streams_the_page_while_it_is_watched(
    sandbox: Sandbox, redis: Redis, settings: Settings
) -> None:
    page = await sandbox.context.new_page()
    await page.set_content(TICKING)
    item_id, url = signed(settings, sandbox)
    assert not await redis.exists(watched_key(item_id))  # nobody watches: nothing is cast

    async with httpx.AsyncClient(timeout=30) as http:  # no token: the URL is signed
        viewer = await http.get(url)
        assert viewer.status_code == 200
        stream_path = html.unescape(viewer.text.split('src="')[1].split('"')[0])
        assert stream_path.startswith(f"/live/{item_id}/stream?expires=")
        content_type, jpeg = await asyncio.wait_for(
            first_frame(http, url.split("/live/")[0] + stream_path), 30
        )

    assert content_type == "multipart/x-mixed-replace; boundary=frame"
    assert jpeg.startswith(JPEG_START) and len(jpeg) > 500
    assert await redis.exists(watched_key(item_id))


async def test_a_live_view_url_unsigned_expired_or_for_another_item_is_not_found(
    sandbox: Sandbox, api_url: str, settings: Settings
) -> None:
    assert sandbox.vnc_url is not None
    item, url = signed(settings, sandbox)
    query = url.split("?")[1]
    _, expired = signed(settings, sandbox, ttl_s=-1)
    other = uuid.uuid4()
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        for path in (
            f"/live/{item}",  # as stored: it opens nothing
            f"/live/{item}?sig=0000",
            f"/live/{item}/stream?{query.replace('sig=', 'sig=0')}",
            # a signature is only good for the item it was made for, until it expires
            f"/live/{other}?{query}",
            f"/live/{other}/stream?{query}",
            "/live/" + expired.split("/live/")[1],
            "/live/not-a-uuid?" + query,
        ):
            response = await http.get(api_url + path)
            assert response.status_code == 404, path
            assert response.json()["detail"].startswith("Live view not found: "), path
