"""The local sandbox's live view: its page's screencast, relayed through Redis to the api.

E2B sandboxes have a desktop to stream over noVNC; a local headless Chromium has none. The
worker instead asks Chromium for a screencast (JPEG frames as the page paints) and
publishes them on Redis while someone watches; the api (server/live_view.py) serves the
frames as an MJPEG stream behind the item's `vnc_url`. Nobody watching costs one Redis
EXISTS per second per sandbox: the screencast itself only runs while the api marks the
item watched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, CDPSession, Page

logger = logging.getLogger(__name__)

# While a viewer is connected the api keeps this key alive; the worker casts while it exists.
WATCHED_TTL_S = 5
SCREENCAST = {"format": "jpeg", "quality": 60, "maxWidth": 1280, "maxHeight": 960}


def frames_channel(item_id: uuid.UUID) -> str:
    """The Redis channel a sandbox publishes its frames on."""
    return f"testrun:live:{item_id}:frames"


def watched_key(item_id: uuid.UUID) -> str:
    """The Redis key that says someone is watching the item."""
    return f"testrun:live:{item_id}:watched"


@dataclass(frozen=True, slots=True)
class LiveViewConfig:
    """Where frames go and how the api's live view URL is built."""

    redis_url: str
    base_url: str

    def url(self, item_id: uuid.UUID) -> str:
        """The api's live view page of the item, as stored: unsigned, so it opens nothing.

        GraphQL and REST answer it signed with an expiry when they read it
        (`resolvers.artifacts.ArtifactLinks.live_view`).
        """
        return f"{self.base_url}/live/{item_id}"


class ScreencastRelay:
    """Casts the context's newest page to Redis while the item is watched."""

    def __init__(
        self, redis: Redis, item_id: uuid.UUID, context: BrowserContext, *, poll_s: float = 1.0
    ) -> None:
        """Relay for `item_id`'s `context`; `start()` begins watching for viewers."""
        self._redis = redis
        self._item_id = item_id
        self._context = context
        self._poll_s = poll_s
        self._page: Page | None = None
        self._cast: tuple[Page, CDPSession] | None = None
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Follow new pages and cast while someone watches, until `close()`."""
        self._context.on("page", self._on_page)
        self._task = asyncio.create_task(self._follow(), name=f"live view {self._item_id}")

    def _on_page(self, page: Page) -> None:
        self._page = page

    def follow(self, context: BrowserContext) -> None:
        """Cast the pages of `context` from now on (a data row's fresh context)."""
        self._context = context
        self._page = None
        context.on("page", self._on_page)

    async def _follow(self) -> None:
        # Imported here: the api uses this module's channel names and never loads Playwright.
        from playwright.async_api import Error as PlaywrightError

        while True:
            try:
                watched = bool(await self._redis.exists(watched_key(self._item_id)))
                page = self._page if self._page and not self._page.is_closed() else None
                casting = self._cast[0] if self._cast else None
                if casting is not None and (not watched or casting is not page):
                    await self._stop_cast()
                if watched and page is not None and self._cast is None:
                    await self._start_cast(page)
            except (PlaywrightError, RedisError, OSError) as error:
                # A page closing under us or Redis blinking: try again on the next poll.
                logger.debug("live view of %s: %s", self._item_id, error)
                self._cast = None
            await asyncio.sleep(self._poll_s)

    async def _start_cast(self, page: Page) -> None:
        session = await self._context.new_cdp_session(page)
        session.on("Page.screencastFrame", lambda frame: self._frame(session, frame))
        await session.send("Page.startScreencast", SCREENCAST)
        self._cast = (page, session)

    async def _stop_cast(self) -> None:
        if self._cast is None:
            return
        from playwright.async_api import Error as PlaywrightError

        _, session = self._cast
        self._cast = None
        with contextlib.suppress(PlaywrightError):
            await session.send("Page.stopScreencast")
            await session.detach()

    def _frame(self, session: CDPSession, frame: dict[str, Any]) -> None:
        jpeg = base64.b64decode(frame["data"])
        for send in (
            self._redis.publish(frames_channel(self._item_id), jpeg),
            session.send("Page.screencastFrameAck", {"sessionId": frame["sessionId"]}),
        ):
            task = asyncio.ensure_future(send)
            self._sends.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[Any]) -> None:
        self._sends.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("live view frame of %s: %s", self._item_id, task.exception())

    async def close(self) -> None:
        """Stop casting and following; the viewer's stream sees no more frames."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stop_cast()
        for task in list(self._sends):
            task.cancel()
