"""Finding Chromium on real files, and launching the one this machine has."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from execution.sandboxes.chromium import (
    CHROMIUM_ARGS,
    ChromiumNotFound,
    ensure_chromium,
    find_chromium,
    playwright_browsers_dir,
)


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def browsers(tmp_path: Path) -> Path:
    """An empty Playwright browsers directory."""
    directory = tmp_path / "ms-playwright"
    directory.mkdir()
    return directory


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH directory holding an executable `chromium`."""
    make_executable(tmp_path / "bin" / "chromium")
    return tmp_path / "bin"


def environ(browsers: Path, path: Path) -> dict[str, str]:
    return {"PLAYWRIGHT_BROWSERS_PATH": str(browsers), "PATH": str(path)}


def test_configured_path_wins_over_playwright_and_path(
    tmp_path: Path, browsers: Path, bin_dir: Path
) -> None:
    make_executable(browsers / "chromium-1140" / "chrome-linux" / "chrome")
    configured = make_executable(tmp_path / "custom" / "chrome")

    assert find_chromium(configured, environ=environ(browsers, bin_dir)) == configured


@pytest.mark.parametrize("kind", ["missing", "not executable", "directory"])
def test_bad_configured_path_raises_naming_it(
    tmp_path: Path, browsers: Path, bin_dir: Path, kind: str
) -> None:
    configured = tmp_path / "custom" / "chrome"
    if kind == "not executable":
        configured.parent.mkdir()
        configured.write_text("")
        configured.chmod(0o644)
    elif kind == "directory":
        configured.mkdir(parents=True)

    # A working browser on PATH must not hide the wrong setting.
    with pytest.raises(ChromiumNotFound, match=re.escape(str(configured))):
        find_chromium(configured, environ=environ(browsers, bin_dir))


def test_playwright_browser_found_before_system_one(browsers: Path, bin_dir: Path) -> None:
    chrome = make_executable(browsers / "chromium-1140" / "chrome-linux" / "chrome")

    assert find_chromium(environ=environ(browsers, bin_dir)) == chrome


def test_newest_playwright_revision_first_by_number(browsers: Path, bin_dir: Path) -> None:
    make_executable(browsers / "chromium-999" / "chrome-linux" / "chrome")
    newest = make_executable(browsers / "chromium-1140" / "chrome-linux64" / "chrome")
    make_executable(browsers / "chromium_headless_shell-1100" / "chrome-linux" / "headless_shell")

    assert find_chromium(environ=environ(browsers, bin_dir)) == newest


def test_playwright_headless_shell_in_chrome_for_testing_layout(
    browsers: Path, bin_dir: Path
) -> None:
    shell = make_executable(
        browsers
        / "chromium_headless_shell-1255"
        / "chrome-headless-shell-linux64"
        / "chrome-headless-shell"
    )

    assert find_chromium(environ=environ(browsers, bin_dir)) == shell


def test_non_executable_playwright_file_is_skipped(browsers: Path, bin_dir: Path) -> None:
    broken = browsers / "chromium-1140" / "chrome-linux" / "chrome"
    broken.parent.mkdir(parents=True)
    broken.write_text("")

    assert find_chromium(environ=environ(browsers, bin_dir)) == bin_dir / "chromium"


def test_system_chromium_on_path_when_no_playwright_browser(browsers: Path, bin_dir: Path) -> None:
    assert find_chromium(environ=environ(browsers, bin_dir)) == bin_dir / "chromium"


def test_nothing_installed_finds_none(tmp_path: Path, browsers: Path) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()

    assert find_chromium(environ=environ(browsers, empty_bin)) is None


def test_xdg_cache_home_holds_playwright_browsers(tmp_path: Path, bin_dir: Path) -> None:
    chrome = make_executable(
        tmp_path / "ms-playwright" / "chromium-1140" / "chrome-linux" / "chrome"
    )

    assert find_chromium(environ={"XDG_CACHE_HOME": str(tmp_path), "PATH": str(bin_dir)}) == chrome


def driver_install_location(env: dict[str, str]) -> Path:
    """Where Playwright's own driver would install chromium in `env`."""
    completed = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "--dry-run", "chromium"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    match = re.search(r"Install location:\s+(\S+)/chromium-\d+", completed.stdout)
    assert match, completed.stdout
    return Path(match.group(1))


@pytest.mark.parametrize(
    "variables",
    [
        {"PLAYWRIGHT_BROWSERS_PATH": "0"},
        {"PLAYWRIGHT_BROWSERS_PATH": "{tmp}/browsers"},
        {"XDG_CACHE_HOME": "{tmp}/cache"},
        {},
    ],
    ids=["in-package", "browsers-path", "xdg-cache", "home"],
)
def test_browsers_dir_is_where_playwright_installs(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    env = {"PATH": os.defpath, "HOME": str(tmp_path / "home")}
    env |= {name: value.format(tmp=tmp_path) for name, value in variables.items()}

    assert playwright_browsers_dir(env) == driver_install_location(env)


class TitlePage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>testrun chromium check</title><p>ok</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    """A page with a title, served on 127.0.0.1 by a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TitlePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_found_chromium_launches_headless_and_reads_a_page(page_url: str) -> None:
    executable = ensure_chromium(None, install=False)

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            page = await browser.new_page()
            await page.goto(page_url)
            assert await page.title() == "testrun chromium check"
        finally:
            await browser.close()
