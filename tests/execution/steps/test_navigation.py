"""navigate_to, go_back and wait, and how a stopped run ends them."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from playwright.async_api import Browser, Page

from execution.steps import StepContext, execute_step
from tests.execution.steps.conftest import Run


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_navigate_to_opens_the_page(page: Page, site: str, run: Run) -> None:
    outcome = await run(action="navigate_to", url=f"{site}/login")

    assert outcome.status == "passed", outcome.error
    assert page.url == f"{site}/login"
    assert await page.title() == "Login"
    assert outcome.description == f"Navigate to {site}/login"
    assert outcome.playwright_code == f'await page.goto("{site}/login")'


async def test_navigate_to_an_unknown_host_names_the_url_and_the_error(run: Run) -> None:
    outcome = await run(action="navigate_to", url="https://nope.invalid")

    assert outcome.status == "failed"
    assert outcome.error == "Could not open https://nope.invalid: net::ERR_NAME_NOT_RESOLVED"


async def test_navigate_to_a_closed_port_names_the_url_and_the_error(run: Run) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"

    outcome = await run(action="navigate_to", url=url)

    assert outcome.error == f"Could not open {url}: net::ERR_CONNECTION_REFUSED"


async def test_navigate_to_needs_a_url(run: Run) -> None:
    outcome = await run(action="navigate_to", url="  ")

    assert outcome.error == "navigate_to needs `url`"


async def test_go_back_returns_to_the_previous_page(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/login")
    await page.goto(f"{site}/dashboard")

    outcome = await run(action="go_back")

    assert outcome.status == "passed", outcome.error
    assert page.url == f"{site}/login"
    assert outcome.playwright_code == "await page.go_back()"


async def test_go_back_without_history_fails(run: Run) -> None:
    outcome = await run(action="go_back")

    assert outcome.error == "Could not go back: there is no previous page in this tab's history"


async def test_wait_waits_the_seconds(run: Run) -> None:
    started = time.monotonic()

    outcome = await run(action="wait", seconds="0.3")

    assert outcome.status == "passed", outcome.error
    assert time.monotonic() - started >= 0.3
    assert outcome.description == "Wait 0.3 seconds"
    assert outcome.playwright_code == "await page.wait_for_timeout(300)"


async def test_wait_ends_early_when_the_run_is_stopped(run: Run) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)
    started = time.monotonic()

    outcome = await run(action="wait", seconds=30, stop=stop)

    assert time.monotonic() - started < 5  # well under the 30 s it asked for
    assert outcome.status == "failed"
    assert outcome.stopped
    assert outcome.error == "Stopped"
    assert outcome.description == "Wait 30 seconds"


async def test_a_long_wait_is_capped(run: Run) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, stop.set)

    outcome = await run(action="wait", seconds=86_400, stop=stop)

    assert outcome.description == "Wait 300 seconds (capped from 86400)"
    assert outcome.playwright_code == "await page.wait_for_timeout(300000)"


@pytest.mark.parametrize(
    ("seconds", "error"),
    [
        (None, "wait needs `seconds`"),
        (-1, "`seconds` must be a non-negative number, not -1"),
        ("soon", "`seconds` must be a non-negative number, not 'soon'"),
        (True, "`seconds` must be a non-negative number, not True"),
        (float("nan"), "`seconds` must be a non-negative number, not nan"),
    ],
)
async def test_wait_needs_a_non_negative_number(run: Run, seconds: object, error: str) -> None:
    outcome = await run(action="wait", seconds=seconds)

    assert outcome.status == "failed"
    assert outcome.error == error


async def test_an_element_wait_ends_when_the_run_is_stopped(page: Page, run: Run) -> None:
    await page.set_content("<p>Nothing to click</p>")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)
    started = time.monotonic()

    outcome = await run(action="click_element", selector="#later", timeout_ms=30_000, stop=stop)

    assert time.monotonic() - started < 5
    assert outcome.stopped
    assert outcome.error == "Stopped"


async def test_a_step_stopped_before_it_starts_does_not_touch_the_page(browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await context.close()  # any use of the page would now fail with "closed"
    stop = asyncio.Event()
    stop.set()

    outcome = await execute_step(
        StepContext(page=page, timeout_ms=1000, stop=stop),
        {"action": "navigate_to", "url": "https://example.com"},
    )

    assert outcome.status == "failed"
    assert outcome.stopped
    assert outcome.error == "Stopped"
    assert outcome.description == "Navigate to (url='https://example.com')"
