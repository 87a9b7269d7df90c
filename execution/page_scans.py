"""A result's accessibility scans: each page it reaches (run setting) and each assertion's."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag

from playwright.async_api import Error

from execution.steps.accessibility import scan_page

if TYPE_CHECKING:
    from playwright.async_api import Page

    from execution.steps.base import StepOutcome

logger = logging.getLogger(__name__)

# page.evaluate has no timeout of its own: a page whose script never yields must not hold
# the replay.
SCAN_TIMEOUT_S = 15.0


class PageScans:
    """Collects `accessibility_results` entries; with `every_page`, scans each new document."""

    def __init__(self, *, every_page: bool) -> None:
        """Scan each page reached when `every_page` (the run's `accessibility_scan`)."""
        self.every_page = every_page
        self.results: list[dict[str, Any]] = []
        self._scanned: str | None = None

    async def after_step(self, page: Page, outcome: StepOutcome, step_number: int) -> None:
        """Keep the step's own scan; else scan the page if it is one not scanned yet.

        A page that cannot be scanned (closed, or replaced while scanned) is logged and
        skipped: the scan never fails a step.
        """
        if outcome.accessibility is not None:
            self._add(outcome.accessibility, step_number)
            return
        if not self.every_page or outcome.stopped or page.is_closed():
            return
        url = urldefrag(page.url).url
        if url == self._scanned or not url.startswith(("http://", "https://")):
            return
        try:
            async with asyncio.timeout(SCAN_TIMEOUT_S):
                scan = await scan_page(page)
        except (Error, TimeoutError) as error:
            logger.warning("could not scan %s for accessibility: %s", url, error)
            return
        self._add(scan, step_number)

    def _add(self, scan: dict[str, Any], step_number: int) -> None:
        self._scanned = urldefrag(scan["url"]).url
        self.results.append(scan | {"step_number": step_number})

    @property
    def total_violations(self) -> int:
        """Violated rules counted once per page, however often that page was scanned."""
        return len(
            {
                (urldefrag(scan["url"]).url, violation["rule_id"])
                for scan in self.results
                for violation in scan["violations"]
            }
        )
