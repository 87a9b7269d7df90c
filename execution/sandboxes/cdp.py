"""The `cdp` sandbox: a fresh browser context per test case on a remote Chrome fleet.

`TESTRUN_CDP_URLS` names one or more Chrome DevTools endpoints (Chrome or browserless
containers started with `--remote-debugging-port`). The worker keeps one connection per
endpoint and opens each test case's context on the endpoint with the fewest contexts this
worker has open there; the browsers do the work, the worker only orchestrates.

Python and shell scripts are refused here: the browser is on another host, and running
them on the worker would give a project's code the worker's files and network. They need
`local` (isolated on the worker) or `e2b` (in the sandbox VM); javascript scripts run in
the page as everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright
from redis.asyncio import Redis

from execution.live_view import LiveViewConfig, ScreencastRelay
from execution.sandboxes.base import CommandResult, SandboxSpec, SandboxUnavailable
from execution.sandboxes.chromium import CLOSE_TIMEOUT_S, BrowserSandbox, context_options

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright

logger = logging.getLogger(__name__)

# How long connecting to one endpoint may take before the next one is tried.
CONNECT_TIMEOUT_S = 10.0
# An endpoint that failed is tried after the others for this long.
FAILED_BACKOFF_S = 30.0
# Contexts (with their first tab) one endpoint opens at once for this worker.
OPENING_PER_ENDPOINT = 2
SCRIPTS_REFUSED = (
    "Python and shell scripts cannot run with TESTRUN_SANDBOX=cdp: the browser is on a "
    "remote endpoint and the worker does not run a project's code on its own host. Use "
    "a javascript script (it runs in the page), or TESTRUN_SANDBOX=local or e2b."
)


@dataclass(eq=False)
class Endpoint:
    """One Chrome DevTools endpoint of the fleet and what this worker has open on it."""

    url: str
    open_contexts: int = 0
    browser: Browser | None = None
    failed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Contexts this worker may open at once here, and how many it is opening now.
    opening_limit: int = OPENING_PER_ENDPOINT
    opening: int = 0
    gate: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.gate = asyncio.Semaphore(self.opening_limit)

    def recently_failed(self) -> bool:
        """Whether the last connection attempt failed less than FAILED_BACKOFF_S ago."""
        return self.failed_at is not None and time.monotonic() - self.failed_at < FAILED_BACKOFF_S


class CdpSandbox(BrowserSandbox):
    """A browser context of its own on one endpoint; closing it frees the endpoint's slot."""

    def __init__(
        self,
        endpoint: Endpoint,
        browser: Browser,
        context: BrowserContext,
        *,
        context_options: dict[str, Any],
        vnc_url: str | None = None,
        relay: ScreencastRelay | None = None,
    ) -> None:
        """Wrap `context`, counted as open on `endpoint` until `close()`."""
        super().__init__(
            browser, context, context_options=context_options, vnc_url=vnc_url, relay=relay
        )
        self.endpoint = endpoint
        self._closed = False

    async def run_command(
        self,
        command: str,
        *,
        timeout_s: float,
        files: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Refuse: python and shell scripts do not run with remote browsers (see the module)."""
        return CommandResult(
            exit_code=None, stdout="", stderr="", duration_ms=0, error=SCRIPTS_REFUSED
        )

    async def close(self) -> None:
        """Close the context (finishing its videos) and free the endpoint; never raises."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._relay is not None:
                await self._relay.close()
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._context.close()
        except (PlaywrightError, TimeoutError) as error:  # the endpoint went away
            logger.info("closing a context on %s: %s", self.endpoint.url, error)
        finally:
            self.endpoint.open_contexts -= 1


class CdpSandboxProvider:
    """Opens contexts on the least-loaded endpoint, connecting to each one once."""

    def __init__(
        self,
        urls: list[str],
        *,
        live_view: LiveViewConfig | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        opening_per_endpoint: int = OPENING_PER_ENDPOINT,
    ) -> None:
        """Use the endpoints at `urls` (http://host:port or ws://...); live view as `local`.

        Each endpoint opens at most `opening_per_endpoint` contexts at once.
        """
        if not urls:
            raise ValueError("TESTRUN_CDP_URLS names no Chrome DevTools endpoint")
        if opening_per_endpoint < 1:
            raise ValueError("opening_per_endpoint must be at least 1")
        self.endpoints = [
            Endpoint(url.rstrip("/"), opening_limit=opening_per_endpoint) for url in urls
        ]
        self._live_view = live_view
        self._connect_timeout_s = connect_timeout_s
        self._turn = 0
        self._redis: Redis | None = None
        self._playwright: Playwright | None = None
        self._lock = asyncio.Lock()

    def _by_load(self) -> list[Endpoint]:
        """Endpoints to try in order: answering first, then fewest open contexts.

        Ties rotate, so sequential test cases spread over an idle fleet too.
        """
        count = len(self.endpoints)
        self._turn += 1
        return sorted(
            self.endpoints,
            key=lambda endpoint: (
                endpoint.recently_failed(),
                endpoint.open_contexts,
                (self.endpoints.index(endpoint) - self._turn) % count,
            ),
        )

    async def create(self, spec: SandboxSpec) -> CdpSandbox:
        """A new context, its first tab open, on the least-loaded endpoint that answers.

        It waits for its turn at the endpoint's gate (see the module); `SandboxUnavailable`
        when no endpoint answers.
        """
        driver = await self._driver()
        options = context_options(spec)
        failures: list[str] = []
        for endpoint in self._by_load():
            # Counted before the first await, so items created at once spread out.
            endpoint.open_contexts += 1
            try:
                browser = await self._connect(driver, endpoint)
                context = await self._open(endpoint, browser, options)
            except (PlaywrightError, TimeoutError) as error:
                endpoint.open_contexts -= 1
                endpoint.failed_at = time.monotonic()
                failures.append(f"{endpoint.url}: {_reason(error)}")
                continue
            endpoint.failed_at = None
            return self._sandbox(spec, endpoint, browser, context, options)
        raise SandboxUnavailable(
            "No Chrome DevTools endpoint of TESTRUN_CDP_URLS answered: " + "; ".join(failures)
        )

    async def _open(
        self, endpoint: Endpoint, browser: Browser, options: dict[str, Any]
    ) -> BrowserContext:
        """A context with its first tab open, at most the gate's number at once."""
        async with endpoint.gate:
            endpoint.opening += 1
            try:
                context = await browser.new_context(**options)
                try:
                    await context.new_page()
                except PlaywrightError:
                    with contextlib.suppress(PlaywrightError):
                        await context.close()
                    raise
                return context
            finally:
                endpoint.opening -= 1

    def _sandbox(
        self,
        spec: SandboxSpec,
        endpoint: Endpoint,
        browser: Browser,
        context: BrowserContext,
        options: dict[str, Any],
    ) -> CdpSandbox:
        if self._live_view is None:
            return CdpSandbox(endpoint, browser, context, context_options=options)
        if self._redis is None:  # made here, on the loop the sandboxes run on
            self._redis = Redis.from_url(self._live_view.redis_url)
        relay = ScreencastRelay(self._redis, spec.item_id, context)
        relay.start()
        return CdpSandbox(
            endpoint,
            browser,
            context,
            context_options=options,
            vnc_url=self._live_view.url(spec.item_id),
            relay=relay,
        )

    async def _connect(self, driver: Playwright, endpoint: Endpoint) -> Browser:
        """The endpoint's connection, made (again) when there is none or it dropped."""
        async with endpoint.lock:
            if endpoint.browser is not None and endpoint.browser.is_connected():
                return endpoint.browser
            endpoint.browser = await driver.chromium.connect_over_cdp(
                endpoint.url, timeout=self._connect_timeout_s * 1000
            )
            return endpoint.browser

    async def _driver(self) -> Playwright:
        async with self._lock:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            return self._playwright

    async def aclose(self) -> None:
        """Disconnect from every endpoint (the remote browsers keep running)."""
        for endpoint in self.endpoints:
            if endpoint.browser is not None:
                with contextlib.suppress(PlaywrightError):
                    await endpoint.browser.close()
                endpoint.browser = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        async with self._lock:
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, TimeoutError) or not text:
        return f"no answer ({type(error).__name__})"
    return text.splitlines()[0]
