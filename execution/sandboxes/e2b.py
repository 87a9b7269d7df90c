"""E2B sandboxes: a cloud desktop per test case, its Chrome driven over CDP and shown over noVNC.

Neither is open to whoever learns the sandbox's public name: Chrome's DevTools listen on
localhost behind a gate that wants the sandbox's secret token (`sandbox_gate`), and the
VNC server wants a password that only the item's `vnc_url` carries.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shlex
import string
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, Unpack
from urllib.parse import urlsplit

import httpx
from e2b import (
    ApiParams,
    AsyncSandbox,
    CommandExitException,
    ConnectionConfig,
    SandboxNetworkOpts,
    SandboxNotRunningException,
    SandboxUnreachableException,
    TimeoutException,
)
from e2b import CommandResult as E2BCommandResult
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from execution.sandboxes import sandbox_gate
from execution.sandboxes.base import OUTPUT_LIMIT, CommandResult, SandboxSpec, SandboxUnavailable
from execution.sandboxes.chromium import CHROMIUM_ARGS, context_options, reopen_context
from execution.sandboxes.sandbox_gate import TOKEN_HEADER, TOKEN_VARIABLE

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "desktop"
# E2B kills a sandbox at the end of its lifetime even when nobody else does (a worker that
# died mid-case); the sweeper catches leaks sooner.
DEFAULT_LIFETIME_S = 1800
DEFAULT_START_TIMEOUT_S = 60.0


# The metadata every testrun sandbox carries, for the sweeper and for people in E2B's dashboard.
RUN_ID_KEY = "testrun_run_id"
ITEM_ID_KEY = "testrun_item_id"
# With TESTRUN_E2B_DEPLOYMENT set: which deployment created the sandbox.
DEPLOYMENT_KEY = "testrun_deployment"


def deployment_metadata(deployment: str | None) -> dict[str, str]:
    """The tags that mark a deployment's sandboxes (none when there is one deployment)."""
    return {DEPLOYMENT_KEY: deployment} if deployment else {}


DISPLAY = ":0"
# Chrome's DevTools listen on localhost only; the gate in front of them is the public port.
CDP_PORT = 9222
CDP_GATE_PORT = 9223
VNC_PORT = 5900
NOVNC_PORT = 6080
# VNC authentication only uses a password's first 8 characters.
VNC_PASSWORD_LENGTH = 8
_GATE_FILE = "testrun/sandbox_gate.py"
_VNC_PASSWORD_FILE = "~/.vnc/passwd"
# Chrome answers DevTools requests (the WebSocket upgrade too) only when their Host is
# localhost or an IP, never the sandbox's public name; E2B's proxy rewrites it for us.
_HOST_MASK = "localhost:${PORT}"
# Room for Chrome's tab strip and toolbar above the page in the live view.
_CHROME_UI_HEIGHT = 120
_POLL_INTERVAL_S = 0.25
# Closing the browser waits on the network; a sandbox that stopped answering must not keep
# close() from killing it.
_BROWSER_CLOSE_TIMEOUT_S = 30.0

# The `desktop` template has no X server running: the client starts one (as e2b_desktop does).
_XVFB = "Xvfb {display} -ac -screen 0 {width}x{height}x24 -nolisten tcp"
# As e2b-desktop's `stream.start(require_auth=True)` does: a password only the viewer's URL
# carries, and the VNC server itself only on localhost (noVNC is its one way in).
_STORE_VNC_PASSWORD = "mkdir -p ~/.vnc && x11vnc -storepasswd {password} " + _VNC_PASSWORD_FILE
_X11VNC = (
    f"x11vnc -display {DISPLAY} -viewonly -forever -shared -localhost "
    f"-rfbauth {_VNC_PASSWORD_FILE} -rfbport {VNC_PORT}"
)
_GATE = f"python3 {_GATE_FILE} {CDP_GATE_PORT} {CDP_PORT}"
# The template keeps noVNC in /opt/noVNC, off PATH.
_NOVNC = (
    'PATH="/opt/noVNC/utils:$PATH" '
    f"novnc_proxy --vnc localhost:{VNC_PORT} --listen {NOVNC_PORT} --web /opt/noVNC"
)


class E2BCommandHandle(Protocol):
    """A command started with `background=True` (`e2b.AsyncCommandHandle`)."""

    @property
    def exit_code(self) -> int | None:
        """None while the command runs."""

    @property
    def stdout(self) -> str:
        """Output so far."""

    @property
    def stderr(self) -> str:
        """Error output so far."""

    async def wait(self) -> E2BCommandResult[str]:
        """The result; CommandExitException on a non-zero exit, TimeoutException at timeout."""

    async def kill(self) -> bool:
        """SIGKILL the command."""

    async def disconnect(self) -> None:
        """Stop following the command; it keeps running."""


class E2BCommands(Protocol):
    """`sandbox.commands`: commands in the sandbox, run by `bash -l -c` in the user's home."""

    async def run(
        self,
        cmd: str,
        background: Literal[True],
        envs: dict[str, str] | None = None,
        *,
        timeout: float | None = 60,
    ) -> E2BCommandHandle:
        """Start `cmd`; `timeout` bounds how long it may run (0: unbounded)."""


class E2BFiles(Protocol):
    """`sandbox.files`: the sandbox's file system (relative paths are in the user's home)."""

    async def write(self, path: str, data: str) -> object:
        """Create or overwrite the file, making its directories."""


class E2BRemoteSandbox(Protocol):
    """A running sandbox (`e2b.AsyncSandbox` instance)."""

    @property
    def sandbox_id(self) -> str:
        """E2B's id for it."""

    @property
    def commands(self) -> E2BCommands:
        """Its processes."""

    @property
    def files(self) -> E2BFiles:
        """Its file system."""

    @property
    def connection_config(self) -> ConnectionConfig:
        """How the SDK reaches it."""

    def get_host(self, port: int) -> str:
        """The public `host[:port]` that reaches `port` inside the sandbox."""

    async def kill(self) -> bool:
        """Destroy the sandbox and everything running in it."""


class E2BSandboxCreator(Protocol):
    """The control plane's create (`e2b.AsyncSandbox.create`, or a stand-in in tests)."""

    async def create(
        self,
        template: str | None = None,
        timeout: int | None = None,
        metadata: dict[str, str] | None = None,
        *,
        network: SandboxNetworkOpts | None = None,
        **opts: Unpack[ApiParams],
    ) -> E2BRemoteSandbox:
        """A new running sandbox."""


def api_params(
    *, api_key: str | None, domain: str | None = None, api_url: str | None = None
) -> ApiParams:
    """The SDK's connection settings; unset ones fall back to its E2B_* environment variables."""
    params: ApiParams = {}
    if api_key:
        params["api_key"] = api_key
    if domain:
        params["domain"] = domain
    if api_url:
        params["api_url"] = api_url
    return params


class E2BSandbox:
    """One test case's E2B desktop: Chrome on its screen, driven through Playwright over CDP."""

    def __init__(
        self, remote: E2BRemoteSandbox, *, on_close: Callable[[E2BSandbox], None] | None = None
    ) -> None:
        self._remote = remote
        self._on_close = on_close
        self._background: list[E2BCommandHandle] = []
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._context_options: dict[str, Any] = {}
        self._vnc_url: str | None = None
        self._closed = False
        # The per-sandbox secret of Chrome's DevTools gate (see `sandbox_gate`).
        self._token = secrets.token_urlsafe(32)

    @classmethod
    async def start(
        cls,
        remote: E2BRemoteSandbox,
        playwright: Playwright,
        spec: SandboxSpec,
        *,
        timeout_s: float = DEFAULT_START_TIMEOUT_S,
        on_close: Callable[[E2BSandbox], None] | None = None,
    ) -> E2BSandbox:
        """Start the display, the live view and Chrome in `remote`, and connect to Chrome.

        Raises:
            Exception: Whatever failed; `remote` is killed first.
        """
        sandbox = cls(remote, on_close=on_close)
        try:
            await sandbox._start(playwright, spec, deadline=time.monotonic() + timeout_s)
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    @property
    def sandbox_id(self) -> str:
        """E2B's id for this sandbox (in its dashboard and metadata listings)."""
        return self._remote.sandbox_id

    @property
    def vnc_url(self) -> str | None:
        """The sandbox's screen in a browser, view-only, through noVNC, with its VNC password."""
        return self._vnc_url

    @property
    def context(self) -> BrowserContext:
        """A fresh browser context in the sandbox's Chrome."""
        if self._context is None:
            raise RuntimeError(f"E2B sandbox {self.sandbox_id} has no browser (not started)")
        return self._context

    async def fresh_context(self) -> BrowserContext:
        """Close the context (finishing its videos) and open a new one in the same Chrome."""
        if self._browser is None:
            raise RuntimeError(f"E2B sandbox {self.sandbox_id} has no browser (not started)")
        self._context = await reopen_context(self._browser, self._context, self._context_options)
        return self._context

    async def run_command(
        self,
        command: str,
        *,
        timeout_s: float,
        files: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run `command` with bash in the sandbox's home directory, after writing `files` there.

        `env` is added to the sandbox VM's environment (the worker's is never there).

        Raises:
            e2b.SandboxException: The sandbox is gone or unreachable (not the command's fault).
        """
        for path, text in (files or {}).items():
            await self._remote.files.write(path, text)
        started = time.monotonic()
        # Started in the background only to hold a handle that can kill it at its timeout:
        # E2B ends the stream at the timeout but may leave the command running.
        handle = await self._remote.commands.run(
            command, background=True, envs=env, timeout=timeout_s
        )
        try:
            finished = await handle.wait()
        except CommandExitException as exited:
            return _result(exited, started)
        except (SandboxNotRunningException, SandboxUnreachableException):
            # The SDK files these under TimeoutException, but the sandbox died, not the command.
            raise
        except TimeoutException:
            await _kill_quietly(handle)
            return CommandResult(
                exit_code=None,
                stdout=(handle.stdout or "")[-OUTPUT_LIMIT:],
                stderr=(handle.stderr or "")[-OUTPUT_LIMIT:],
                duration_ms=_elapsed_ms(started),
                timed_out=True,
            )
        return _result(finished, started)

    async def close(self) -> None:
        """Close the browser connection, then kill the sandbox; safe to call twice, never raises."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._close_browser()
            for handle in self._background:
                try:
                    await handle.disconnect()
                except Exception:
                    logger.debug("Could not detach from a command in %s", self.sandbox_id)
        finally:
            try:
                await self._remote.kill()
            except Exception:
                logger.exception(
                    "Could not kill E2B sandbox %s; it ends at its lifetime or the next sweep",
                    self.sandbox_id,
                )
            if self._on_close is not None:
                self._on_close(self)

    async def _start(self, playwright: Playwright, spec: SandboxSpec, *, deadline: float) -> None:
        width = spec.viewport_width or 1280
        height = (spec.viewport_height or 720) + _CHROME_UI_HEIGHT
        await self._run_background(_XVFB.format(display=DISPLAY, width=width, height=height))
        await self._wait_for_display(deadline)
        vnc_password = "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(VNC_PASSWORD_LENGTH)
        )
        stored = await self._remote.commands.run(
            _STORE_VNC_PASSWORD.format(password=vnc_password), background=True, timeout=30
        )
        await stored.wait()
        await self._run_background(_X11VNC)
        await self._run_background(_NOVNC)
        await self._remote.files.write(_GATE_FILE, Path(sandbox_gate.__file__).read_text())
        await self._run_background(_GATE, envs={TOKEN_VARIABLE: self._token})
        chrome = await self._run_background(
            shlex.join(
                [
                    "google-chrome",
                    # Without --remote-debugging-address Chrome listens on localhost only.
                    f"--remote-debugging-port={CDP_PORT}",
                    f"--user-data-dir=/tmp/testrun-chrome-{spec.item_id}",
                    "--window-position=0,0",
                    f"--window-size={width},{height}",
                    *CHROMIUM_ARGS,
                    "about:blank",
                ]
            ),
            envs={"DISPLAY": DISPLAY},
        )
        # The SDK's own rule for a sandbox's URLs: plain HTTP only in debug mode (a local one).
        http, ws = ("http", "ws") if self._remote.connection_config.debug else ("https", "wss")
        cdp_host = self._remote.get_host(CDP_GATE_PORT)
        browser_path = await self._wait_for_cdp(chrome, f"{http}://{cdp_host}", deadline)
        self._browser = await playwright.chromium.connect_over_cdp(
            f"{ws}://{cdp_host}{browser_path}",
            timeout=max(deadline - time.monotonic(), 1) * 1000,
            headers={TOKEN_HEADER: self._token},
        )
        self._context_options = context_options(spec)
        self._context = await self._browser.new_context(**self._context_options)
        self._vnc_url = (
            f"{http}://{self._remote.get_host(NOVNC_PORT)}/vnc.html"
            f"?autoconnect=true&view_only=true&resize=scale&password={vnc_password}"
        )

    async def _run_background(
        self, command: str, envs: dict[str, str] | None = None
    ) -> E2BCommandHandle:
        # timeout=0: with E2B's default (60 s) the command is killed when its stream ends.
        handle = await self._remote.commands.run(command, background=True, envs=envs, timeout=0)
        self._background.append(handle)
        return handle

    async def _wait_for_display(self, deadline: float) -> None:
        while True:
            probe = await self._remote.commands.run(
                f"xdpyinfo -display {DISPLAY}", background=True, timeout=10
            )
            try:
                await probe.wait()
                return
            except CommandExitException as exited:
                reason = exited.stderr.strip() or f"xdpyinfo exited with {exited.exit_code}"
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the X display {DISPLAY} did not start ({reason})")
            await asyncio.sleep(_POLL_INTERVAL_S)

    async def _wait_for_cdp(self, chrome: E2BCommandHandle, endpoint: str, deadline: float) -> str:
        """The browser's WebSocket path, once Chrome's DevTools endpoint answers."""
        async with httpx.AsyncClient(timeout=10, headers={TOKEN_HEADER: self._token}) as http:
            while True:
                if chrome.exit_code is not None:
                    raise RuntimeError(
                        f"Chrome exited with status {chrome.exit_code}: {_tail(chrome.stderr)}"
                    )
                try:
                    response = await http.get(f"{endpoint}/json/version")
                    if response.status_code == httpx.codes.OK:
                        # Chrome builds this URL from the masked Host: only its path is ours.
                        return str(urlsplit(response.json()["webSocketDebuggerUrl"]).path)
                    reason = f"HTTP {response.status_code} {_tail(response.text)}"
                except (httpx.HTTPError, ValueError, KeyError) as error:
                    reason = str(error) or type(error).__name__
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"Chrome's DevTools endpoint did not answer ({reason})")
                await asyncio.sleep(_POLL_INTERVAL_S)

    async def _close_browser(self) -> None:
        if self._browser is None:
            return
        try:
            async with asyncio.timeout(_BROWSER_CLOSE_TIMEOUT_S):
                # Closing the context first finishes its videos.
                if self._context is not None:
                    await self._context.close()
                await self._browser.close()
        except Exception:
            # Usually the connection is already gone (Chrome crashed, the network dropped).
            logger.warning(
                "Could not close the browser in E2B sandbox %s", self.sandbox_id, exc_info=True
            )


class E2BSandboxProvider:
    """Creates E2B desktop sandboxes, one per test case, with one Playwright driver for all.

    Args:
        api_key: The team's E2B API key (E2B_API_KEY); create() fails without one.
        domain: E2B's domain (E2B_DOMAIN), for self-hosted E2B; the SDK's default if None.
        api_url: The control plane's URL (E2B_API_URL), e.g. a local endpoint.
        template: The sandbox template: E2B's `desktop` or one built from it.
        lifetime_s: When E2B kills a sandbox nobody closed.
        start_timeout_s: How long the display and Chrome may take to come up.
        metadata: Extra tags on every sandbox, e.g. which deployment owns it; give the sweeper
            the same ones so it leaves other deployments' sandboxes alone.
        client: The SDK's control plane; E2B's `AsyncSandbox` by default.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        domain: str | None = None,
        api_url: str | None = None,
        template: str = DEFAULT_TEMPLATE,
        lifetime_s: int = DEFAULT_LIFETIME_S,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        metadata: Mapping[str, str] | None = None,
        client: E2BSandboxCreator = AsyncSandbox,
    ) -> None:
        self._api_key = api_key
        self._api_params = api_params(api_key=api_key, domain=domain, api_url=api_url)
        self._template = template
        self._lifetime_s = lifetime_s
        self._start_timeout_s = start_timeout_s
        self._metadata = dict(metadata or {})
        self._client = client
        self._playwright: Playwright | None = None
        self._driver_lock = asyncio.Lock()
        self._open: set[E2BSandbox] = set()

    async def create(self, spec: SandboxSpec) -> E2BSandbox:
        """A new E2B desktop with Chrome connected, or `SandboxUnavailable` saying why not."""
        if not self._api_key:
            raise SandboxUnavailable(
                "E2B_API_KEY is not set: set it to your team's E2B API key, "
                "or run test cases in local sandboxes (TESTRUN_SANDBOX=local)."
            )
        playwright = await self._driver()
        metadata = {
            **self._metadata,
            RUN_ID_KEY: str(spec.run_id),
            ITEM_ID_KEY: str(spec.item_id),
        }
        try:
            remote = await self._client.create(
                template=self._template,
                timeout=self._lifetime_s,
                metadata=metadata,
                network={"mask_request_host": _HOST_MASK},
                **self._api_params,
            )
            sandbox = await E2BSandbox.start(
                remote,
                playwright,
                spec,
                timeout_s=self._start_timeout_s,
                on_close=self._open.discard,
            )
        except Exception as error:
            raise SandboxUnavailable(
                f"Could not create an E2B sandbox: {_reason(error)}"
            ) from error
        self._open.add(sandbox)
        return sandbox

    async def aclose(self) -> None:
        """Kill the sandboxes still open (they would run to their lifetime), stop the driver."""
        for sandbox in list(self._open):
            await sandbox.close()
        if self._playwright is not None:
            playwright, self._playwright = self._playwright, None
            await playwright.stop()

    async def _driver(self) -> Playwright:
        async with self._driver_lock:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            return self._playwright


def _result(output: E2BCommandResult[str], started: float) -> CommandResult:
    return CommandResult(
        exit_code=output.exit_code,
        stdout=(output.stdout or "")[-OUTPUT_LIMIT:],
        stderr=(output.stderr or "")[-OUTPUT_LIMIT:],
        duration_ms=_elapsed_ms(started),
    )


async def _kill_quietly(handle: E2BCommandHandle) -> None:
    try:
        await handle.kill()
    except Exception:
        # It may have ended on its own meanwhile; the sandbox is killed at close regardless.
        logger.debug("Could not kill a timed-out command", exc_info=True)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _tail(text: str | None, limit: int = 300) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _reason(error: BaseException) -> str:
    return _tail(str(error), 500) or type(error).__name__
