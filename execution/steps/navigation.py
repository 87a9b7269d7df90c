"""Moving the page: opening a URL, going back, waiting."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.playwright_code import literal, number_code
from execution.steps.step import StepFailed, StepRun, explain

# A recorded wait longer than this is a mistake, not a reason to hold a browser for hours.
MAX_WAIT_SECONDS = 300.0

# Playwright ends a network error with the URL it tried, which the message already names.
_AT_URL = re.compile(r" at \S+$")


async def navigate_to(step: StepRun) -> None:
    """Open `url` (http, https, or about:blank) and wait for its load event."""
    url = arguments.text(step.arguments, "url").strip()
    step.description = f"Navigate to {url}"
    step.playwright_code = f"await page.goto({literal(url)})"
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https") and url != "about:blank":
        named = f"a {scheme}: URL" if scheme else "a URL without a scheme"
        raise StepFailed(f"Could not open {url}: only http and https URLs are opened, not {named}")
    timeout = step.timeout_ms()
    try:
        await step.page.goto(url, wait_until="load", timeout=timeout)
    except Error as error:
        reason = _AT_URL.sub("", explain(error, timeout))
        raise StepFailed(f"Could not open {url}: {reason}") from None


async def go_back(step: StepRun) -> None:
    """Go to the previous page of the tab's history and wait for its load event."""
    step.description = "Go back"
    step.playwright_code = "await page.go_back()"
    before = step.page.url
    timeout = step.timeout_ms()
    try:
        response = await step.page.go_back(wait_until="load", timeout=timeout)
    except Error as error:
        raise StepFailed(f"Could not go back: {explain(error, timeout)}") from None
    # No response is also how a same-document (history API) step back ends, so the URL
    # tells whether anything happened.
    if response is None and step.page.url == before:
        raise StepFailed("Could not go back: there is no previous page in this tab's history")


async def wait(step: StepRun) -> None:
    """Wait `seconds` (at most MAX_WAIT_SECONDS), ending early when the run is stopped."""
    seconds = arguments.optional_number(step.arguments, "seconds")
    if seconds is None:
        raise StepFailed("wait needs `seconds`")
    capped = min(seconds, MAX_WAIT_SECONDS)
    unit = "second" if capped == 1 else "seconds"
    step.description = f"Wait {number_code(capped)} {unit}"
    if capped < seconds:
        step.description += f" (capped from {number_code(seconds)})"
    step.playwright_code = f"await page.wait_for_timeout({number_code(capped * 1000)})"
    await step.pause(capped * 1000)
