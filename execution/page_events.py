"""What a test case's pages do besides its steps: logs, dialogs, new tabs, downloads, crashes.

One `PageEvents` follows a browser context for one result. Every page the context opens is
watched: console messages and requests are captured with the step in progress, dialogs
are answered at once (so no step waits on one), downloads are saved with the result's
artifacts, and the newest open tab is the one the next step acts on, as the recording
agent saw it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resolvers.logs import ConsoleLogInput, NetworkLogInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from playwright.async_api import (
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Download,
        Frame,
        Page,
        Request,
    )

logger = logging.getLogger(__name__)

# How long a tab's title may take to read: a page busy in a script answers late or never.
TITLE_TIMEOUT_S = 1.0
# How long the end of a result waits for downloads still being written.
DOWNLOAD_TIMEOUT_S = 30.0
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class DialogAnswer:
    """How the next dialogs are answered: dismissed unless a step says to accept."""

    accept: bool = False
    prompt_text: str | None = None

    @classmethod
    def of_step(cls, arguments: Mapping[str, Any]) -> DialogAnswer:
        """The answer a step asks for: `dialog: "accept"` (and `dialog_text` for a prompt)."""
        accept = str(arguments.get("dialog") or "").strip().lower() == "accept"
        text = arguments.get("dialog_text")
        return cls(accept=accept, prompt_text=None if text is None else str(text))


@dataclass  # no slots: Playwright keeps its handler wrappers on the bound methods' owner
class PageEvents:
    """The pages of one result's browser context, and what they did."""

    artifacts: Path  # the artifacts root: stored paths are relative to it
    folder: Path  # this result's folder under it
    step_index: int = 0
    step_number: int = 0
    answer: DialogAnswer = field(default_factory=DialogAnswer)
    initial_url: str | None = None
    downloads: list[dict[str, Any]] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    network: list[dict[str, Any]] = field(default_factory=list)
    _tabs: dict[int, int] = field(default_factory=dict)  # id(page) -> tab number, from 1
    _pages: list[Page] = field(default_factory=list)
    _crashed: set[int] = field(default_factory=set)
    _started: dict[int, float] = field(default_factory=dict)
    _titles: dict[int, str | None] = field(default_factory=dict)  # id(page) -> title read
    _loads: dict[int, int] = field(default_factory=dict)  # id(page) -> navigations and loads
    # The event loop keeps only weak references to tasks: hold them until they end.
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    _saving: set[asyncio.Task[None]] = field(default_factory=set)
    _download_count: int = 0

    def follow(self, context: BrowserContext) -> None:
        """Watch every page `context` opens from now on."""
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        """Watch `page`: the newest tab, until a newer one opens or it closes."""
        if id(page) in self._tabs:
            return
        self._tabs[id(page)] = len(self._tabs) + 1
        self._pages.append(page)
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)
        page.on("crash", self._on_crash)
        page.on("framenavigated", self._on_navigated)
        page.on("domcontentloaded", self._forget_title)
        page.on("load", self._forget_title)

    @property
    def page(self) -> Page:
        """The tab the next step acts on: the newest one still open (else the first)."""
        for page in reversed(self._pages):
            if not page.is_closed():
                return page
        return self._pages[0]

    def tab_of(self, page: Page) -> str:
        """The tab's id as recorded on steps: `tab-1` is the first page of the result."""
        return f"tab-{self._tabs.get(id(page), 0)}"

    def crashed(self, page: Page) -> bool:
        """Whether `page`'s renderer crashed."""
        return id(page) in self._crashed

    async def title_of(self, page: Page) -> str | None:
        """The tab's title, or None when the page cannot say (closed, crashed, busy).

        Read again only after the tab navigated or loaded since the last read (a round
        trip to the browser per step otherwise): a title a script changes later, with no
        navigation, is seen at the tab's next navigation.
        """
        if page.is_closed() or self.crashed(page):
            return None
        if id(page) in self._titles:
            return self._titles[id(page)]
        loads = self._loads.get(id(page), 0)
        try:
            title = await asyncio.wait_for(page.title(), TITLE_TIMEOUT_S)
        except Exception:  # busy in a script, navigating, or gone: no title is no failure
            return None
        if self._loads.get(id(page), 0) == loads:  # else it may be the page before
            self._titles[id(page)] = title
        return title

    def take(self) -> tuple[list[ConsoleLogInput], list[NetworkLogInput]]:
        """The console and network rows captured since the last call."""
        console, network = self.console, self.network
        self.console, self.network = [], []
        return (
            [ConsoleLogInput.model_validate(row) for row in console],
            [NetworkLogInput.model_validate(row) for row in network],
        )

    async def saved_downloads(self) -> list[dict[str, Any]]:
        """Every download of the result, once those still being written are saved."""
        if self._saving:
            await asyncio.wait(set(self._saving), timeout=DOWNLOAD_TIMEOUT_S)
        return list(self.downloads)

    # --- listeners ---------------------------------------------------------------------

    def _spawn(self, work: Any, tasks: set[asyncio.Task[None]]) -> None:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _log(self, level: str, message: str, source: str | None = None, **more: Any) -> None:
        self.console.append(
            {
                "log_level": level,
                "message": message,
                "source": source,
                "step_index": self.step_index,
                "timestamp": datetime.now(UTC),
                **more,
            }
        )

    def _on_console(self, message: ConsoleMessage) -> None:
        level = {"warning": "warn", "log": "log"}.get(message.type, message.type)
        if level not in ("log", "info", "warn", "error", "debug"):
            level = "log"
        location = message.location
        self._log(
            level,
            message.text,
            location.get("url") or None,
            line_number=location.get("lineNumber"),
            column_number=location.get("columnNumber"),
        )

    def _on_dialog(self, dialog: Dialog) -> None:
        answer = self.answer
        verb = "accepted" if answer.accept else "dismissed"
        self._log(
            "warn" if dialog.type == "beforeunload" else "info",
            f"Dialog ({dialog.type}) {verb}: {dialog.message}",
            dialog.page.url if dialog.page else None,
        )
        if answer.accept:
            self._spawn(dialog.accept(answer.prompt_text or ""), self._pending)
        else:
            self._spawn(dialog.dismiss(), self._pending)

    def _on_crash(self, page: Page) -> None:
        self._crashed.add(id(page))
        self._log("error", "The page's renderer crashed", page.url)

    def _forget_title(self, page: Page) -> None:
        self._loads[id(page)] = self._loads.get(id(page), 0) + 1
        self._titles.pop(id(page), None)

    def _on_navigated(self, frame: Frame) -> None:
        main_frame = frame.parent_frame is None
        if main_frame:
            self._forget_title(frame.page)
        if self.initial_url is None and main_frame and frame.url not in ("", "about:blank"):
            self.initial_url = frame.url

    def _on_download(self, download: Download) -> None:
        self._download_count += 1
        self._spawn(self._save(download, self._download_count, self.step_number), self._saving)

    async def _save(self, download: Download, number: int, step_number: int) -> None:
        name = _UNSAFE_NAME.sub("_", download.suggested_filename).strip("._") or "download"
        path = self.folder / "downloads" / f"{number:02d}-{name}"
        entry: dict[str, Any] = {
            "file_name": download.suggested_filename,
            "url": download.url,
            "step_number": step_number,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            await download.save_as(path)
        except Exception as error:  # cancelled by the page, or the browser went away
            entry["error"] = str(error).splitlines()[0] if str(error) else type(error).__name__
        else:
            entry["path"] = str(path.relative_to(self.artifacts))
            entry["size_bytes"] = path.stat().st_size
        self.downloads.append(entry)

    def _on_request(self, request: Request) -> None:
        self._started[id(request)] = time.monotonic()

    def _finished(self, request: Request) -> None:
        self._spawn(self._on_done(request), self._pending)

    async def _on_done(self, request: Request) -> None:
        started = self._started.pop(id(request), time.monotonic())
        response = None
        with contextlib.suppress(Exception):  # the page may be closing
            response = await request.response()
        self.network.append(
            {
                "url": request.url,
                "method": request.method,
                "status_code": response.status if response else None,
                "status_text": (response.status_text or None) if response else None,
                "resource_type": request.resource_type,
                "error_message": request.failure,
                "duration_ms": round((time.monotonic() - started) * 1000),
                "step_index": self.step_index,
                "timestamp": datetime.now(UTC),
            }
        )


async def environment_of(context: BrowserContext, page: Page) -> dict[str, Any]:
    """What the result ran in: the browser, its version, the OS, the viewport, the agent."""
    browser = context.browser
    info: dict[str, Any] = {
        "browser": browser.browser_type.name if browser else None,
        "browser_version": browser.version if browser else None,
        "viewport": page.viewport_size,
    }
    try:  # a fresh about:blank page answers at once
        found = await asyncio.wait_for(
            page.evaluate(
                "() => ({user_agent: navigator.userAgent, os: navigator.platform,"
                " viewport: {width: innerWidth, height: innerHeight}})"
            ),
            5,
        )
    except Exception as error:
        logger.info("no environment from the page: %s", error)
    else:
        info |= {"user_agent": found["user_agent"], "os": found["os"]}
        info["viewport"] = info["viewport"] or found["viewport"]
    return info
