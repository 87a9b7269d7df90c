"""A real headless Chromium per test module and a small site on 127.0.0.1 for the step tests."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from execution.sandboxes.chromium import CHROMIUM_ARGS, find_chromium
from execution.steps import StepContext, StepOutcome, execute_step

EXAMPLE_PAGE = Path(__file__).with_name("example_page.html")

# Pages of the local site, by path; the example page is read from its file.
PAGES: dict[str, str] = {
    "/login": "<!doctype html><title>Login</title><h1>Sign in</h1><a href='/dashboard'>Go</a>",
    "/dashboard": "<!doctype html><title>Welcome home</title><h1>Welcome back, Ann</h1>",
    "/frame": "<!doctype html><button>Cross-origin button</button>",
}


class SitePage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0].split("#")[0]
        if path == "/example":
            text: str | None = EXAMPLE_PAGE.read_text(encoding="utf-8")
        else:
            text = PAGES.get(path)
        body = (text or "<!doctype html><title>Not found</title>").encode()
        self.send_response(200 if text is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """The base URL of the local site, e.g. http://127.0.0.1:41000."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SitePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(find_chromium(None)), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page in its own browser context."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


Run = Callable[..., Awaitable[StepOutcome]]


@pytest.fixture
def run(page: Page) -> Run:
    """Replay one step on the page: `await run(action="click_element", index=3)`."""

    async def replay(
        *, timeout_ms: int = 10_000, stop: asyncio.Event | None = None, **arguments: Any
    ) -> StepOutcome:
        context = StepContext(page=page, timeout_ms=timeout_ms, stop=stop or asyncio.Event())
        return await execute_step(context, arguments)

    return replay
