"""Acting on the page like a person: click, type, hover, select, press keys, scroll."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.element_index import scrub
from execution.steps.elements import locate, names_element, planned_label
from execution.steps.playwright_code import literal, locator_code, number_code
from execution.steps.step import StepFailed, StepRun, explain

if TYPE_CHECKING:
    from playwright.async_api import Locator


async def _perform(failure: str, action: Awaitable[object], timeout_ms: float | None) -> None:
    """Await a Playwright call; its error becomes the step's, after `failure`."""
    try:
        await action
    except Error as error:
        raise StepFailed(f"{failure}: {scrub(explain(error, timeout_ms))}") from None


async def click_element(step: StepRun) -> None:
    """Click the element (auto-waiting until it is visible, enabled and stable)."""
    step.description = f"Click {planned_label(step.arguments)}"
    target = await locate(step)
    step.description = f"Click {target.label}"
    step.playwright_code = f"await {locator_code(target.selector)}.click()"
    timeout = step.timeout_ms()
    await _perform(
        f"Could not click {target.label}", target.locator.click(timeout=timeout), timeout
    )


# What the step records instead of the text typed into a password input.
MASKED = "********"


async def input_text(step: StepRun) -> None:
    """Fill the element with `text`; elements fill() refuses get a click and typing.

    Text typed into a password input is recorded as MASKED: step rows, descriptions and
    generated code are read by everyone on the project.
    """
    text = arguments.text(step.arguments, "text", allow_empty=True)
    step.input_value = text
    step.description = f"Type '{text}' into {planned_label(step.arguments)}"
    target = await locate(step)
    shown = MASKED if target.facts["secret"] else text
    step.input_value = shown
    step.description = f"Type '{shown}' into {target.label}"
    code = locator_code(target.selector)
    failure = f"Could not type into {target.label}"
    timeout = step.timeout_ms()
    if target.facts["fillable"]:
        step.playwright_code = f"await {code}.fill({literal(shown)})"
        await _perform(failure, target.locator.fill(text, timeout=timeout), timeout)
        return
    step.playwright_code = f"await {code}.click()\nawait page.keyboard.type({literal(shown)})"
    await _perform(failure, target.locator.click(timeout=timeout), timeout)
    await _perform(failure, step.page.keyboard.type(text), None)


async def hover(step: StepRun) -> None:
    """Move the mouse over the element."""
    step.description = f"Hover over {planned_label(step.arguments)}"
    target = await locate(step)
    step.description = f"Hover over {target.label}"
    step.playwright_code = f"await {locator_code(target.selector)}.hover()"
    timeout = step.timeout_ms()
    await _perform(
        f"Could not hover over {target.label}", target.locator.hover(timeout=timeout), timeout
    )


async def select_option(step: StepRun) -> None:
    """Choose the option of a <select> whose label is `text` (or whose value is `value`)."""
    label = arguments.optional_text(step.arguments, "text")
    value = None if label is not None else arguments.text(step.arguments, "text", "value")
    choice = label if label is not None else value
    step.input_value = choice
    step.description = f"Select '{choice}' in {planned_label(step.arguments)}"
    target = await locate(step)
    step.description = f"Select '{choice}' in {target.label}"
    failure = f"Could not select '{choice}' in {target.label}"
    if target.facts["tag"] != "select":
        raise StepFailed(f"{failure}: it is not a <select> element")
    keyword = "label" if label is not None else "value"
    step.playwright_code = (
        f"await {locator_code(target.selector)}.select_option({keyword}={literal(str(choice))})"
    )
    timeout = step.timeout_ms()
    try:
        if label is not None:
            await target.locator.select_option(label=label, timeout=timeout)
        else:
            await target.locator.select_option(value=value, timeout=timeout)
    except Error as error:
        options = await _options(target.locator, keyword)
        raise StepFailed(f"{failure}: {scrub(explain(error, timeout))}; {options}") from None


async def _options(select: Locator, keyword: str) -> str:
    """The select's option labels or values, for the error message."""
    try:
        found = await select.evaluate(
            f"(select) => [...select.options].map((option) => option.{keyword})", timeout=1000
        )
    except Error:
        return "its options could not be read"
    listed = ", ".join(f"'{option}'" for option in found)
    return f"its options are {listed}"


async def send_keys(step: StepRun) -> None:
    """Press a key or a combination ("Enter", "Control+A") on the page's keyboard."""
    keys = arguments.text(step.arguments, "keys")
    step.description = f"Press {keys}"
    step.playwright_code = f"await page.keyboard.press({literal(keys)})"
    await _perform(f"Could not press {keys}", step.page.keyboard.press(keys), None)


async def scroll(step: StepRun) -> None:
    """Scroll the element into view, or the page `direction` by `amount` px (or a screen)."""
    if names_element(step.arguments):
        step.description = f"Scroll {planned_label(step.arguments)} into view"
        target = await locate(step)
        step.description = f"Scroll {target.label} into view"
        step.playwright_code = f"await {locator_code(target.selector)}.scroll_into_view_if_needed()"
        timeout = step.timeout_ms()
        await _perform(
            f"Could not scroll {target.label} into view",
            target.locator.scroll_into_view_if_needed(timeout=timeout),
            timeout,
        )
        return
    direction = arguments.optional_text(step.arguments, "direction")
    if direction is None or direction.strip().lower() not in ("down", "up"):
        given = "" if direction is None else f", not '{direction}'"
        raise StepFailed(
            f"scroll needs `direction` 'down' or 'up'{given} (or an element to scroll to)"
        )
    direction = direction.strip().lower()
    sign = "" if direction == "down" else "-"
    amount = arguments.optional_number(step.arguments, "amount")
    if amount is None:
        expression = f"window.scrollBy(0, {sign}window.innerHeight)"
        step.description = f"Scroll {direction} one screen"
    else:
        expression = f"window.scrollBy(0, {sign}{number_code(amount)})"
        step.description = f"Scroll {direction} {number_code(amount)} px"
    step.playwright_code = f"await page.evaluate({literal(expression)})"
    await _perform("Could not scroll", step.page.evaluate(expression), None)
