"""The files a result leaves: step screenshots, its trace and its video, under its own folder.

Paths are stored relative to the artifacts root, which the api serves behind signed URLs.
A file that cannot be made (a crashed page, a context already gone) is logged and left
out; it never fails the test case.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from playwright.async_api import BrowserContext, Page

logger = logging.getLogger(__name__)

# How long taking a screenshot or closing a page may take before it is given up.
PAGE_CALL_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ResultFiles:
    """Where one result's files go: `folder`, under the artifacts `root`."""

    root: Path
    folder: Path

    def _stored(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    async def screenshot(self, page: Page, step_number: int) -> str | None:
        """A PNG of the page after step `step_number`, or None when the page cannot show."""
        path = self.folder / f"step-{step_number:04d}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.wait_for(
                page.screenshot(path=path, timeout=PAGE_CALL_TIMEOUT_S * 1000),
                PAGE_CALL_TIMEOUT_S + 1,
            )
        except Exception as error:  # a crashed or hung page has nothing to show
            logger.info("no screenshot of step %d: %s", step_number, error)
            return None
        return self._stored(path)

    @staticmethod
    async def start_trace(context: BrowserContext) -> bool:
        """Trace the context's pages; whether tracing started."""
        try:
            await context.tracing.start(screenshots=True, snapshots=True)
        except Exception as error:  # no trace is no reason to fail the test case
            logger.warning("could not start a trace: %s", error)
            return False
        return True

    async def stop_trace(self, context: BrowserContext, *, keep: bool) -> str | None:
        """End the trace: written as trace.zip when `keep`, else thrown away."""
        path = self.folder / "trace.zip"
        try:
            if keep:
                self.folder.mkdir(parents=True, exist_ok=True)
                await context.tracing.stop(path=path)
                return self._stored(path)
            await context.tracing.stop()
        except Exception as error:
            logger.warning("could not save the trace: %s", error)
        return None

    async def close_pages(self, pages: Sequence[Page]) -> str | None:
        """Close the result's pages; the first one's video (when recorded), as video.webm."""
        for page in pages:
            try:
                await asyncio.wait_for(page.close(), PAGE_CALL_TIMEOUT_S)
            except Exception as error:  # crashed or closed already
                logger.info("closing a page: %s", error)
        video = pages[0].video if pages else None
        if video is None:
            return None
        path = self.folder / "video.webm"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            await video.save_as(path)
            await video.delete()
        except Exception as error:
            logger.warning("could not save the video: %s", error)
            return None
        return self._stored(path)
