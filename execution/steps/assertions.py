"""Checkpoints: assertions that wait for their condition, then report expected and actual."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.base import CheckpointOutcome
from execution.steps.element_index import describe, readable_selector
from execution.steps.elements import fingerprint_selectors, locate, names_element, planned_label
from execution.steps.playwright_code import literal, locator_code
from execution.steps.step import StepFailed, StepRun

# The checkpoint type of every assertion (a models.enums.CheckpointType value).
ELEMENT_CHECKPOINT = "element"
PAGE_TEXT_LIMIT = 200


def checkpoint_name(step: StepRun, generated: str) -> str:
    """The checkpoint's name (and the step's description): the recorded one if any."""
    recorded = arguments.optional_text(step.arguments, "assertion_description")
    name = recorded.strip() if recorded and recorded.strip() else generated
    step.description = name
    return name


def _record(
    step: StepRun,
    name: str,
    *,
    passed: bool,
    expected: dict[str, Any],
    actual: dict[str, Any],
    error: str,
) -> None:
    """Store the checkpoint; fail the step with `error` when it did not pass."""
    step.checkpoint = CheckpointOutcome(
        name=name,
        checkpoint_type=ELEMENT_CHECKPOINT,
        passed=passed,
        expected=expected,
        actual=actual,
        selector=step.selector,
    )
    if not passed:
        raise StepFailed(error)


async def _page_text(step: StepRun) -> str:
    """The start of the page's visible text, for messages about text that is missing."""
    try:
        text = await step.page.locator("body").inner_text(timeout=1000)
    except Error:
        return ""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= PAGE_TEXT_LIMIT else f"{text[: PAGE_TEXT_LIMIT - 1]}…"


def _contains_pattern(expected: str) -> str:
    return f"re.compile(re.escape({literal(expected)}))"


async def assert_url_contains(step: StepRun) -> None:
    """The page's URL contains `expected_text`."""
    expected = arguments.text(step.arguments, "expected_text", "text")
    name = checkpoint_name(step, f"Check that the URL contains '{expected}'")
    step.playwright_code = f"await expect(page).to_have_url({_contains_pattern(expected)})"

    async def url() -> str:
        return step.page.url

    actual = await step.poll(url, lambda value: expected in value)
    _record(
        step,
        name,
        passed=expected in actual,
        expected={"url_contains": expected},
        actual={"url": actual},
        error=f"Expected the URL to contain '{expected}', but it is '{actual}'",
    )


async def assert_title_contains(step: StepRun) -> None:
    """The page's title contains `expected_text` (or `text`)."""
    expected = arguments.text(step.arguments, "expected_text", "text")
    name = checkpoint_name(step, f"Check that the title contains '{expected}'")
    step.playwright_code = f"await expect(page).to_have_title({_contains_pattern(expected)})"

    async def title() -> str:
        try:
            return await step.page.title()
        except Error:  # between documents: look again
            return ""

    actual = await step.poll(title, lambda value: expected in value)
    _record(
        step,
        name,
        passed=expected in actual,
        expected={"title_contains": expected},
        actual={"title": actual},
        error=f"Expected the title to contain '{expected}', but it is '{actual}'",
    )


async def _visible_text_count(step: StepRun, text: str) -> int:
    try:
        return await step.page.get_by_text(text).filter(visible=True).count()
    except Error:  # between documents: look again
        return 0


async def assert_text_present(step: StepRun) -> None:
    """Some visible element's text contains `text` (or `expected_text`, or `search_text`).

    Matching is Playwright's get_by_text: case-insensitive, whitespace normalized.
    `search_text` is what the recorder's assert_element_visible calls it (runs-execute.md).
    """
    text = arguments.text(step.arguments, "text", "expected_text", "search_text")
    name = checkpoint_name(step, f"Check that the text '{text}' is on the page")
    step.playwright_code = f"await expect(page.get_by_text({literal(text)}).first).to_be_visible()"
    count = await step.poll(lambda: _visible_text_count(step, text), lambda found: found > 0)
    page_text = "" if count else await _page_text(step)
    _record(
        step,
        name,
        passed=count > 0,
        expected={"text": text},
        actual={"found": count > 0} | ({} if count else {"page_text": page_text}),
        error=f"Expected the page to contain the text '{text}', but it reads '{page_text}'",
    )


async def assert_element_visible(step: StepRun) -> None:
    """An element is visible: the step's element (index or fingerprint), or `search_text`.

    `search_text` is found as Playwright's get_by_text finds it (case-insensitive, part
    of the text); a `text` fingerprint must be the element's whole text.
    """
    if names_element(step.arguments):
        await _element_visible(step)
    else:
        await _text_visible(step)


async def _element_visible(step: StepRun) -> None:
    label = planned_label(step.arguments)
    name = checkpoint_name(step, f"Check that {label} is visible")
    index = arguments.optional_index(step.arguments)
    expected: dict[str, Any] = {"visible": True}
    if index is not None:
        expected["index"] = index
    if fingerprints := fingerprint_selectors(step.arguments):
        expected["selector"] = fingerprints[0]
    try:
        target = await locate(step)
    except StepFailed as failure:
        reason = str(failure)
        _record(
            step,
            name,
            passed=False,
            expected=expected,
            actual={"visible": False},
            error=f"Expected {label} to be visible, but: {reason[0].lower()}{reason[1:]}",
        )
        return
    step.playwright_code = f"await expect({locator_code(target.selector)}).to_be_visible()"
    actual = {"visible": True, "element": target.facts["description"]}
    _record(step, name, passed=True, expected=expected, actual=actual, error="")


async def _text_visible(step: StepRun) -> None:
    text = arguments.text(step.arguments, "search_text", "expected_text")
    name = checkpoint_name(step, f"Check that an element with the text '{text}' is visible")
    step.playwright_code = f"await expect(page.get_by_text({literal(text)}).first).to_be_visible()"
    count = await step.poll(lambda: _visible_text_count(step, text), lambda found: found > 0)
    if not count:
        page_text = await _page_text(step)
        _record(
            step,
            name,
            passed=False,
            expected={"visible": True, "search_text": text},
            actual={"visible": False, "page_text": page_text},
            error=(
                f"Expected an element with the text '{text}' to be visible, but there is none; "
                f"the page reads '{page_text}'"
            ),
        )
        return
    first = step.page.get_by_text(text).filter(visible=True).first
    step.tagged = True
    try:
        facts = await describe(first, nonce=step.nonce, timeout_ms=step.timeout_ms())
        step.selector = await readable_selector(step.page, facts["selectors"], step.nonce)
        description = facts["description"]
    except Error:  # it went between the check and the look: the check still passed
        description = None
    _record(
        step,
        name,
        passed=True,
        expected={"visible": True, "search_text": text},
        actual={"visible": True, "element": description},
        error="",
    )
