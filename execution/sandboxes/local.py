"""The `local` sandbox: a fresh headless Chromium per test case, on the worker's own machine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright
from redis.asyncio import Redis

from execution.live_view import LiveViewConfig, ScreencastRelay
from execution.sandboxes.base import CommandResult, SandboxSpec, SandboxUnavailable
from execution.sandboxes.chromium import CHROMIUM_ARGS, BrowserSandbox, context_options
from execution.sandboxes.script_isolation import (
    IsolationCheck,
    ScriptIsolation,
    bubblewrap_argv,
    prepare_workdir,
    run_process,
    script_environment,
    write_into,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright

logger = logging.getLogger(__name__)


class LocalSandbox(BrowserSandbox):
    """One Chromium process and a scratch directory for the test case's scripts."""

    def __init__(
        self,
        browser: Browser,
        context: BrowserContext,
        workdir: Path,
        check: IsolationCheck,
        *,
        vnc_url: str | None = None,
        relay: ScreencastRelay | None = None,
        context_options: dict[str, Any] | None = None,
    ) -> None:
        """Wrap a launched browser; `close()` ends it and removes the directory."""
        super().__init__(
            browser, context, context_options=context_options, vnc_url=vnc_url, relay=relay
        )
        self._workdir = workdir
        self._check = check
        self._isolation = check.isolation
        self._closed = False

    async def run_command(
        self,
        command: str,
        *,
        timeout_s: float,
        files: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run `command` with /bin/sh in the sandbox's directory, isolated; killed at the timeout.

        Where the isolation cannot be had the command does not run: the result's `error`
        says why and how to fix it (see `execution.sandboxes.script_isolation`).
        """
        for name, text in (files or {}).items():
            write_into(self._workdir, name, text)
        if self._isolation.mode == "none":
            argv = ["/bin/sh", "-c", command]
            environment = script_environment(env, home=str(self._workdir))
        else:
            problem = await self._check.problem()
            if problem is not None:
                return CommandResult(
                    exit_code=None, stdout="", stderr="", duration_ms=0, error=problem
                )
            prepare_workdir(self._workdir)
            argv = bubblewrap_argv(self._isolation, self._workdir, command)
            environment = script_environment(env)
        return await run_process(argv, cwd=self._workdir, env=environment, timeout_s=timeout_s)

    async def close(self) -> None:
        """Close the context (which finishes videos), the browser and the directory."""
        if self._closed:
            return
        self._closed = True
        if self._relay is not None:
            await self._relay.close()
        for step in (self._context.close, self._browser.close):
            try:
                await step()
            except PlaywrightError as error:  # already gone: nothing left to free
                logger.info("closing the local sandbox: %s", error)
        shutil.rmtree(self._workdir, ignore_errors=True)


# How long a browser launched ahead waits for its test case before it is closed.
SPARE_IDLE_S = 30.0


class LocalSandboxProvider:
    """Launches one Chromium per sandbox through a Playwright driver shared by the process.

    Launching takes a few hundred milliseconds, so while test cases keep coming the provider
    keeps one browser launched ahead: the next sandbox takes it, never used before, and the
    one after is launched while that test case plays. A spare nobody took within
    `spare_idle_s` is closed, and so is one whose process died.
    """

    def __init__(
        self,
        executable: Path,
        *,
        live_view: LiveViewConfig | None = None,
        isolation: ScriptIsolation | None = None,
        spare_idle_s: float | None = SPARE_IDLE_S,
    ) -> None:
        """Use the Chromium at `executable`; with `live_view`, pages can be watched live.

        Scripts run as `isolation` says (default: bubblewrap, no port denied). With
        `spare_idle_s` None no browser is launched ahead.
        """
        self._executable = executable
        self._check = IsolationCheck(isolation or ScriptIsolation())
        self._live_view = live_view
        self._redis: Redis | None = None
        self._playwright: Playwright | None = None
        self._lock = asyncio.Lock()
        self._spare_idle_s = spare_idle_s
        self._spare: asyncio.Task[Browser] | None = None
        self._spare_timer: asyncio.TimerHandle | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    async def _driver(self) -> Playwright:
        async with self._lock:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            return self._playwright

    async def _launch(self) -> Browser:
        driver = await self._driver()
        return await driver.chromium.launch(
            executable_path=str(self._executable), args=list(CHROMIUM_ARGS), headless=True
        )

    async def _spare_browser(self) -> Browser | None:
        """The spare, if one was launched and still answers; the next one starts launching."""
        spare, self._spare = self._spare, None
        if self._spare_idle_s is not None:
            self._spare = asyncio.ensure_future(self._launch())
            if self._spare_timer is not None:
                self._spare_timer.cancel()
            self._spare_timer = asyncio.get_running_loop().call_later(
                self._spare_idle_s, self._retire_spare
            )
        if spare is None:
            return None
        try:
            browser = await spare
        except PlaywrightError as error:  # launched badly: the caller launches one itself
            logger.info("the spare browser did not start: %s", error)
            return None
        return browser if browser.is_connected() else None

    async def _context(self, options: dict[str, Any]) -> tuple[Browser, BrowserContext]:
        """A browser nobody used, with the test case's context open in it.

        The spare is tried first; when it cannot open a context (its process died, and
        Playwright may not have noticed yet) a browser is launched now.
        """
        spare = await self._spare_browser()
        if spare is not None:
            try:
                return spare, await spare.new_context(**options)
            except PlaywrightError as error:
                logger.info("the spare browser could not open a context: %s", error)
                with contextlib.suppress(PlaywrightError):
                    await spare.close()
        try:
            browser = await self._launch()
        except PlaywrightError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no reason"
            raise SandboxUnavailable(
                f"Could not start Chromium ({self._executable}): {first_line}"
            ) from error
        try:
            return browser, await browser.new_context(**options)
        except PlaywrightError as error:
            await browser.close()
            raise SandboxUnavailable(f"Could not open a browser context: {error}") from error

    def _retire_spare(self) -> None:
        """Close the spare nobody took in time."""
        spare, self._spare, self._spare_timer = self._spare, None, None
        if spare is not None:
            task = asyncio.ensure_future(_close_spare(spare))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def create(self, spec: SandboxSpec) -> LocalSandbox:
        """A new browser with one context sized as the run asks."""
        options = context_options(spec)
        browser, context = await self._context(options)
        workdir = Path(tempfile.mkdtemp(prefix=f"testrun-{spec.item_id}-"))
        if self._live_view is None:
            return LocalSandbox(browser, context, workdir, self._check, context_options=options)
        if self._redis is None:  # made here, on the loop the sandboxes run on
            self._redis = Redis.from_url(self._live_view.redis_url)
        relay = ScreencastRelay(self._redis, spec.item_id, context)
        relay.start()
        return LocalSandbox(
            browser,
            context,
            workdir,
            self._check,
            vnc_url=self._live_view.url(spec.item_id),
            relay=relay,
            context_options=options,
        )

    async def aclose(self) -> None:
        """Close the spare browser, stop the Playwright driver and the live view's client."""
        if self._spare_timer is not None:
            self._spare_timer.cancel()
        self._retire_spare()
        if self._retiring:
            await asyncio.gather(*self._retiring)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        async with self._lock:
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None


async def _close_spare(spare: asyncio.Task[Browser]) -> None:
    """Close a browser launched ahead (or let its failed launch go); never raises."""
    try:
        browser = await spare
        await browser.close()
    except PlaywrightError as error:
        logger.info("closing the spare browser: %s", error)
