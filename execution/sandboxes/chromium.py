"""Finding (and, as root on Debian, installing) the Chromium the local sandbox launches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import playwright

from execution.sandboxes.base import SandboxSpec
from execution.sandboxes.debian_packages import apt_install

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

    from execution.live_view import ScreencastRelay

logger = logging.getLogger(__name__)

# Flags for every Chromium we start, by Playwright's `launch()` or by hand (the E2B sandbox
# starts Chrome itself and connects over CDP, so Playwright's own defaults are not applied).
CHROMIUM_ARGS: tuple[str, ...] = (
    # Sandboxes run as root (and containers usually forbid the user namespaces it needs), so
    # Chromium's own sandbox cannot start; the container or VM around it is the boundary.
    "--no-sandbox",
    # Headless servers have no GPU; without this Chromium probes for one on every launch.
    "--disable-gpu",
    # Docker gives /dev/shm 64 MB, which large pages exhaust; use /tmp instead.
    "--disable-dev-shm-usage",
    # Closed networks and proxies commonly drop UDP; keep every request on TCP.
    "--disable-quic",
    # This machine's closed network refuses Chromium's own background connections
    # (component and variations updates, sync, metrics upload, default apps, first-run
    # pings): they can only fail, and each failure is noise in the browser's log.
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--metrics-recording-only",
)

# Executables on PATH, in order of preference, when neither a setting nor Playwright gives one.
SYSTEM_CHROMIUM_NAMES: tuple[str, ...] = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)

# Playwright's browser folders, relative to its browsers directory. Headless shell builds
# come in two layouts: older `chrome-linux/headless_shell`, and Chrome for Testing's
# `chrome-headless-shell-linux64/chrome-headless-shell` (Playwright 1.65's).
_PLAYWRIGHT_EXECUTABLES: tuple[str, ...] = (
    "chromium-*/chrome-linux*/chrome",
    "chromium_headless_shell-*/chrome-linux*/headless_shell",
    "chromium_headless_shell-*/chrome-headless-shell-linux*/chrome-headless-shell",
)

_REVISION = re.compile(r"-(\d+)$")

_HOW_TO_GET_ONE = (
    "Set TESTRUN_CHROMIUM=/path/to/chrome, "
    "or run `apt-get install chromium` as root on Debian/Ubuntu, "
    "or install Playwright's browser with `playwright install chromium`."
)


class ChromiumNotFound(RuntimeError):
    """No usable Chromium: the configured one is wrong, or none is installed."""


# How long closing a browser context may take before a new one is opened regardless.
CLOSE_TIMEOUT_S = 10.0


def find_chromium(
    configured: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The Chromium executable to launch, or None when there is none.

    Looked for in this order: `configured` (TESTRUN_CHROMIUM); Playwright's own
    installed browser, newest revision first; `chromium`, `chromium-browser`,
    `google-chrome`, `google-chrome-stable` on PATH.

    Args:
        configured: The executable the settings name, if any.
        environ: The environment to read PLAYWRIGHT_BROWSERS_PATH, XDG_CACHE_HOME, HOME
            and PATH from; the process environment when None.

    Returns:
        The executable's path, or None when no Chromium is installed.

    Raises:
        ChromiumNotFound: `configured` is given but is not an executable file. A wrong
            explicit setting never falls back to another browser.
    """
    env = os.environ if environ is None else environ
    if configured is not None:
        path = configured.expanduser()
        if not _is_executable_file(path):
            raise ChromiumNotFound(
                f"TESTRUN_CHROMIUM={configured} is not an executable file. {_HOW_TO_GET_ONE}"
            )
        return path
    for path in _playwright_executables(env):
        if _is_executable_file(path):
            return path
    search_path = env.get("PATH", os.defpath)
    for name in SYSTEM_CHROMIUM_NAMES:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return Path(found)
    return None


def install_system_chromium() -> Path:
    """Install Debian's `chromium` with apt-get and return the Chromium found afterwards.

    Only done as root on Debian or Ubuntu; apt-get's output goes to this process's
    stdout and stderr as it runs.

    Returns:
        The executable found after installing.

    Raises:
        ChromiumNotFound: Not root, not Debian/Ubuntu, apt-get failed, or still no Chromium.
    """
    problem = apt_install("chromium")
    if problem is not None:
        raise ChromiumNotFound(f"No Chromium found: {problem} {_HOW_TO_GET_ONE}")
    found = find_chromium()
    if found is None:
        raise ChromiumNotFound(f"apt-get installed chromium but none was found. {_HOW_TO_GET_ONE}")
    return found


def ensure_chromium(configured: Path | None, *, install: bool) -> Path:
    """The Chromium to launch: found, else installed when `install` allows it.

    Args:
        configured: The executable the settings name (TESTRUN_CHROMIUM), if any.
        install: Whether to install Debian's chromium when none is found.

    Returns:
        The executable's path.

    Raises:
        ChromiumNotFound: The configured one is wrong, or none is found and none can be
            (or may be) installed. The message says how to get one.
    """
    found = find_chromium(configured)
    if found is not None:
        return found
    if install:
        return install_system_chromium()
    raise ChromiumNotFound(f"No Chromium found. {_HOW_TO_GET_ONE}")


def playwright_browsers_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where `playwright install` puts browsers, by the same rules as Playwright's driver.

    Args:
        environ: The environment to read PLAYWRIGHT_BROWSERS_PATH, XDG_CACHE_HOME and HOME
            from; the process environment when None.

    Returns:
        PLAYWRIGHT_BROWSERS_PATH; the installed playwright package's own folder when that
        is "0"; else `ms-playwright` in the user's cache directory.
    """
    env = os.environ if environ is None else environ
    configured = env.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":
        return Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured).absolute()
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")) / ".cache")
    return Path(cache).expanduser() / "ms-playwright"


def _playwright_executables(environ: Mapping[str, str]) -> list[Path]:
    """Candidate executables in Playwright's browsers directory, newest revision first."""
    browsers = playwright_browsers_dir(environ)
    candidates = [path for pattern in _PLAYWRIGHT_EXECUTABLES for path in browsers.glob(pattern)]
    # sorted() is stable, also reversed: at equal revisions the full Chromium stays first.
    return sorted(candidates, key=_revision, reverse=True)


def _revision(executable: Path) -> int:
    """The revision in a Playwright browser folder name (`chromium-1140` is 1140)."""
    match = _REVISION.search(executable.parent.parent.name)
    return int(match.group(1)) if match else -1


def _is_executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def playwright_ffmpeg(environ: Mapping[str, str] | None = None) -> Path:
    """Where Playwright's driver looks for the ffmpeg it records videos with."""
    browsers_json = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    descriptors = json.loads(browsers_json.read_text())["browsers"]
    revision = next(entry["revision"] for entry in descriptors if entry["name"] == "ffmpeg")
    return playwright_browsers_dir(environ) / f"ffmpeg-{revision}" / "ffmpeg-linux"


def ensure_video_encoder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The ffmpeg Playwright records videos with; linked in from a pip or system one if missing.

    Playwright downloads its own ffmpeg build, which closed networks cannot reach. Any ffmpeg
    with the libvpx VP8 encoder works in its place: imageio-ffmpeg's static build (a
    dependency) or the system's. Linux only, as Playwright's Linux file name says.

    Returns:
        The ffmpeg Playwright will use, or None when there is none (videos then fail).
    """
    target = playwright_ffmpeg(environ)
    if _is_executable_file(target):
        return target
    if not sys.platform.startswith("linux"):
        logger.warning("no Playwright ffmpeg: runs that record video will fail")
        return None
    source = _pip_ffmpeg() or shutil.which("ffmpeg")
    if source is None:
        logger.warning("no ffmpeg found for Playwright: runs that record video will fail")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    link = target.with_name(f".{target.name}.{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(source)
    link.replace(target)  # atomic: a worker starting beside us never sees half a link
    logger.info("videos are encoded with %s", source)
    return target


def _pip_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        path: str = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # a wheel without a binary for this platform
        return None
    return path


def context_options(spec: SandboxSpec) -> dict[str, Any]:
    """The browser context `spec` asks for: its viewport and, with the encoder ready, its video."""
    options: dict[str, Any] = {}
    if spec.viewport_width and spec.viewport_height:
        options["viewport"] = {"width": spec.viewport_width, "height": spec.viewport_height}
    if spec.video_dir is not None:
        ensure_video_encoder()  # Playwright encodes the video here, on the worker
        options["record_video_dir"] = spec.video_dir
    return options


async def reopen_context(
    browser: Browser, context: BrowserContext | None, options: dict[str, Any]
) -> BrowserContext:
    """Close `context` (finishing its videos) and open a new one with `options`, same browser.

    A context already gone with its connection, or one that takes over CLOSE_TIMEOUT_S to
    close, is left behind: the new one does not wait on it.
    """
    if context is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await context.close()
    return await browser.new_context(**options)


class BrowserSandbox:
    """What sandboxes with a Playwright browser share: the context, the live view following it.

    Each data row gets a fresh context (`fresh_context`) with the options of the first.
    """

    def __init__(
        self,
        browser: Browser,
        context: BrowserContext,
        *,
        context_options: dict[str, Any] | None = None,
        vnc_url: str | None = None,
        relay: ScreencastRelay | None = None,
    ) -> None:
        """Hold `context` of `browser`; new ones open with `context_options`."""
        self._browser = browser
        self._context = context
        self._context_options = context_options or {}
        self._vnc_url = vnc_url
        self._relay = relay

    @property
    def vnc_url(self) -> str | None:
        """The api's live view of this test case (see `execution.live_view`)."""
        return self._vnc_url

    @property
    def context(self) -> BrowserContext:
        """The browser context the test case's pages open in."""
        return self._context

    async def fresh_context(self) -> BrowserContext:
        """Close the context (finishing its videos) and open a new one with the same options."""
        self._context = await reopen_context(self._browser, self._context, self._context_options)
        if self._relay is not None:
            self._relay.follow(self._context)
        return self._context
