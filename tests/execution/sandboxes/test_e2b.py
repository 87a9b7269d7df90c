"""The E2B sandbox against a local stand-in for E2B, with this machine's real Chromium."""

from __future__ import annotations

import asyncio
import http.server
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from execution.sandboxes.base import SandboxSpec, SandboxUnavailable
from execution.sandboxes.chromium import CHROMIUM_ARGS, find_chromium
from execution.sandboxes.e2b import (
    CDP_PORT,
    ITEM_ID_KEY,
    RUN_ID_KEY,
    E2BSandbox,
    E2BSandboxProvider,
)
from tests.execution.sandboxes.e2b_standin import (
    API_KEY,
    ChromeMode,
    StandInE2B,
    StandInSandbox,
    edge_name,
    sandbox_processes,
)

PAGE = b"<!doctype html><title>Served to the sandbox</title><p>hello</p>"


@pytest.fixture(scope="module", autouse=True)
def no_processes_left_behind() -> Iterator[None]:
    """Every stand-in process is gone after these tests, whatever they did."""
    yield
    leftovers = sandbox_processes()
    for process in leftovers:
        process.kill()
    assert not leftovers, f"stand-in processes left running: {leftovers}"


@pytest.fixture(scope="module")
def chromium() -> Path:
    found = find_chromium(None)
    assert found is not None, "make test installs Chromium; run `testrun chromium --install`"
    return found


@pytest.fixture
def chrome_mode() -> ChromeMode:
    return "chromium"


@pytest.fixture
async def standin(
    tmp_path: Path, chromium: Path, chrome_mode: ChromeMode
) -> AsyncIterator[StandInE2B]:
    with socket.socket() as probe:
        # Every stand-in Chrome listens on this machine's port 9222; another one would answer.
        assert probe.connect_ex(("127.0.0.1", CDP_PORT)) != 0, f"port {CDP_PORT} is taken"
    cloud = StandInE2B(root=tmp_path / "e2b", chromium=chromium, chrome=chrome_mode)
    yield cloud
    await cloud.kill_all()


@pytest.fixture
async def provider(standin: StandInE2B) -> AsyncIterator[E2BSandboxProvider]:
    provider = E2BSandboxProvider(api_key=API_KEY, client=standin, start_timeout_s=30)
    yield provider
    await provider.aclose()


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def make_spec(**overrides: object) -> SandboxSpec:
    values: dict[str, object] = {"run_id": uuid.uuid4(), "item_id": uuid.uuid4()}
    values.update(overrides)
    return SandboxSpec(**values)  # type: ignore[arg-type]


def remote_of(standin: StandInE2B, sandbox: E2BSandbox) -> StandInSandbox:
    return standin.sandboxes[sandbox.sandbox_id]


async def wait_until(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_page_in_the_sandbox_chrome_loads_through_cdp(
    provider: E2BSandboxProvider, standin: StandInE2B, page_url: str
) -> None:
    spec = make_spec(viewport_width=800, viewport_height=600)
    sandbox = await provider.create(spec)
    try:
        page = await sandbox.context.new_page()
        await page.goto(page_url)
        assert await page.title() == "Served to the sandbox"
        assert page.viewport_size == {"width": 800, "height": 600}
        chrome_args = (remote_of(standin, sandbox).root / "google-chrome.args").read_text()
        display = (remote_of(standin, sandbox).root / "google-chrome.display").read_text()
    finally:
        await sandbox.close()
    assert chrome_args.splitlines() == [
        f"--remote-debugging-port={CDP_PORT}",
        "--remote-debugging-address=0.0.0.0",
        f"--user-data-dir=/tmp/testrun-chrome-{spec.item_id}",
        "--window-position=0,0",
        "--window-size=800,720",
        *CHROMIUM_ARGS,
        "about:blank",
    ]
    assert display == ":0"


async def test_the_sandbox_is_tagged_with_its_test_case_and_masks_the_host(
    standin: StandInE2B,
) -> None:
    provider = E2BSandboxProvider(
        api_key=API_KEY,
        domain="e2b.example.test",
        api_url="http://127.0.0.1:3000",
        lifetime_s=900,
        metadata={"testrun_deployment": "staging"},
        client=standin,
    )
    spec = make_spec()
    try:
        sandbox = await provider.create(spec)
        await sandbox.close()
    finally:
        await provider.aclose()
    [call] = standin.created
    assert call.template == "desktop"
    assert call.timeout == 900
    assert call.metadata == {
        "testrun_deployment": "staging",
        RUN_ID_KEY: str(spec.run_id),
        ITEM_ID_KEY: str(spec.item_id),
    }
    assert call.network == {"mask_request_host": "localhost:${PORT}"}
    assert call.opts == {
        "api_key": API_KEY,
        "domain": "e2b.example.test",
        "api_url": "http://127.0.0.1:3000",
    }


async def test_chrome_refuses_the_public_name_the_mask_replaces(
    provider: E2BSandboxProvider,
) -> None:
    name, _ = edge_name()
    # With no resolvable host name the stand-in falls back to an IP, which Chrome accepts:
    # the check this test makes would not apply, so that is a failure of the set-up.
    assert name != "127.0.0.1", "this machine's host name does not resolve"
    sandbox = await provider.create(make_spec())
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://{name}:{CDP_PORT}/json/version")
    finally:
        await sandbox.close()
    assert response.status_code == 500
    assert "Host header is specified and is not an IP address or localhost" in response.text


async def test_the_live_view_streams_the_sandbox_display(
    provider: E2BSandboxProvider, standin: StandInE2B
) -> None:
    sandbox = await provider.create(make_spec(viewport_width=1024, viewport_height=700))
    try:
        remote = remote_of(standin, sandbox)
        commands = list(remote.command_lines)
        assert sandbox.vnc_url == (
            f"http://{remote.get_host(6080)}/vnc.html?autoconnect=true&view_only=true&resize=scale"
        )
    finally:
        await sandbox.close()
    assert commands[0] == "Xvfb :0 -ac -screen 0 1024x820x24 -nolisten tcp"
    assert "x11vnc -display :0 -viewonly -forever -shared -nopw -rfbport 5900" in commands
    assert any("novnc_proxy --vnc localhost:5900 --listen 6080" in line for line in commands)
    started = [line.split()[0] for line in commands]
    assert started.index("x11vnc") < started.index("google-chrome")


async def test_run_command_returns_output_and_exit_code(provider: E2BSandboxProvider) -> None:
    sandbox = await provider.create(make_spec())
    try:
        ok = await sandbox.run_command("echo hello; echo careful >&2", timeout_s=10)
        failed = await sandbox.run_command("echo partial; exit 3", timeout_s=10)
    finally:
        await sandbox.close()
    assert (ok.exit_code, ok.stdout, ok.stderr, ok.timed_out) == (0, "hello\n", "careful\n", False)
    assert ok.duration_ms >= 0
    assert (failed.exit_code, failed.stdout, failed.timed_out) == (3, "partial\n", False)


async def test_run_command_writes_files_in_the_sandbox_home(
    provider: E2BSandboxProvider, standin: StandInE2B
) -> None:
    sandbox = await provider.create(make_spec())
    try:
        result = await sandbox.run_command(
            "cat data/input.txt && pwd",
            timeout_s=10,
            files={"data/input.txt": "written before the command\n"},
        )
        home = remote_of(standin, sandbox).home
    finally:
        await sandbox.close()
    assert result.exit_code == 0
    assert result.stdout == f"written before the command\n{home}\n"


async def test_run_command_gives_the_script_its_environment(provider: E2BSandboxProvider) -> None:
    sandbox = await provider.create(make_spec())
    try:
        result = await sandbox.run_command(
            "echo $TESTRUN_RUN_ID $API_PASSWORD",
            timeout_s=10,
            env={"TESTRUN_RUN_ID": "r1", "API_PASSWORD": "pw"},
        )
    finally:
        await sandbox.close()
    assert (result.exit_code, result.stdout) == (0, "r1 pw\n")


async def test_a_command_past_its_timeout_is_killed_and_reported(
    provider: E2BSandboxProvider, standin: StandInE2B
) -> None:
    sandbox = await provider.create(make_spec())
    try:
        started = time.monotonic()
        result = await sandbox.run_command("echo started; exec sleep 30", timeout_s=2)
        elapsed = time.monotonic() - started

        await wait_until(
            lambda: not sandbox_processes(sandbox.sandbox_id, running=("sleep", "30")), timeout=5
        )
    finally:
        await sandbox.close()
    assert result.timed_out
    assert result.exit_code is None
    assert result.stdout == "started\n"
    assert elapsed < 30  # it came back at its timeout, not when `sleep 30` ended


async def test_close_kills_the_sandbox_and_its_chrome(
    provider: E2BSandboxProvider, standin: StandInE2B
) -> None:
    sandbox = await provider.create(make_spec())
    remote = remote_of(standin, sandbox)
    chrome = [p for p in sandbox_processes(sandbox.sandbox_id) if "chrom" in p.name()]
    assert chrome, "the sandbox runs no Chrome"

    await sandbox.close()
    await sandbox.close()

    assert remote.killed
    assert sandbox.sandbox_id not in standin.sandboxes
    assert sandbox_processes(sandbox.sandbox_id) == []
    assert not any(process.is_running() and process.status() != "zombie" for process in chrome)


async def test_close_kills_the_sandbox_when_the_browser_connection_is_gone(
    provider: E2BSandboxProvider, standin: StandInE2B
) -> None:
    sandbox = await provider.create(make_spec())
    browser = sandbox.context.browser
    assert browser is not None
    for process in sandbox_processes(sandbox.sandbox_id):
        if "chrom" in process.name():
            process.kill()
    await wait_until(lambda: not browser.is_connected())

    await sandbox.close()

    assert sandbox.sandbox_id not in standin.sandboxes
    assert sandbox_processes(sandbox.sandbox_id) == []


async def test_close_never_raises_when_e2b_cannot_kill(
    provider: E2BSandboxProvider, standin: StandInE2B, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = await provider.create(make_spec())
    browser = sandbox.context.browser
    assert browser is not None
    standin.failing_kills = 1

    with caplog.at_level(logging.ERROR, logger="execution.sandboxes.e2b"):
        await sandbox.close()

    assert not browser.is_connected()
    assert f"Could not kill E2B sandbox {sandbox.sandbox_id}" in caplog.text
    assert "the stand-in's API is down" in caplog.text


async def test_aclose_kills_sandboxes_nobody_closed(standin: StandInE2B) -> None:
    provider = E2BSandboxProvider(api_key=API_KEY, client=standin)
    sandbox = await provider.create(make_spec())

    await provider.aclose()

    assert sandbox.sandbox_id not in standin.sandboxes
    assert sandbox_processes(sandbox.sandbox_id) == []


@pytest.mark.parametrize(
    ("chrome_mode", "reason"),
    [
        ("crash", "Chrome exited with status 1: [ERROR:ozone_platform_x11.cc(256)] Missing X"),
        ("silent", "Chrome's DevTools endpoint did not answer (HTTP 502"),
    ],
)
async def test_a_sandbox_whose_chrome_fails_is_killed_and_reported(
    standin: StandInE2B, reason: str
) -> None:
    provider = E2BSandboxProvider(api_key=API_KEY, client=standin, start_timeout_s=2)
    try:
        with pytest.raises(SandboxUnavailable) as raised:
            await provider.create(make_spec())
    finally:
        await provider.aclose()
    assert str(raised.value).startswith(f"Could not create an E2B sandbox: {reason}")
    assert len(standin.created) == 1
    assert standin.sandboxes == {}
    assert sandbox_processes() == []


@pytest.mark.parametrize("api_key", [None, ""])
async def test_without_an_api_key_there_is_no_sandbox(
    standin: StandInE2B, api_key: str | None
) -> None:
    provider = E2BSandboxProvider(api_key=api_key, client=standin)
    with pytest.raises(SandboxUnavailable, match=r"^E2B_API_KEY is not set"):
        await provider.create(make_spec())
    await provider.aclose()
    assert standin.created == []


async def test_a_refused_api_key_is_reported(standin: StandInE2B) -> None:
    provider = E2BSandboxProvider(api_key="e2b_revoked", client=standin)
    with pytest.raises(SandboxUnavailable) as raised:
        await provider.create(make_spec())
    await provider.aclose()
    assert (
        str(raised.value)
        == "Could not create an E2B sandbox: Invalid API key, it must start with 'e2b_'"
    )
    assert standin.sandboxes == {}
