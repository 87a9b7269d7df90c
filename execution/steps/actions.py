"""Replaying one proven step: the action registry and the outcome of every step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from playwright.async_api import Error

from execution.steps import (
    accessibility,
    api_checks,
    assertions,
    element_properties,
    interactions,
    navigation,
    visual,
)
from execution.steps.base import StepContext, StepOutcome
from execution.steps.element_index import scrub, untag
from execution.steps.elements import element_html
from execution.steps.playwright_code import number_code
from execution.steps.step import StepFailed, StepRun, StepStopped, explain

Handler = Callable[[StepRun], Awaitable[None]]

ACTIONS: dict[str, Handler] = {
    "navigate_to": navigation.navigate_to,
    "go_back": navigation.go_back,
    "wait": navigation.wait,
    "click_element": interactions.click_element,
    "input_text": interactions.input_text,
    "hover": interactions.hover,
    "select_option": interactions.select_option,
    "send_keys": interactions.send_keys,
    "scroll": interactions.scroll,
    "assert_url_contains": assertions.assert_url_contains,
    "assert_title_contains": assertions.assert_title_contains,
    "assert_text_present": assertions.assert_text_present,
    "assert_element_visible": assertions.assert_element_visible,
    "assert_element_properties": element_properties.assert_element_properties,
    "assert_api": api_checks.assert_api,
    "assert_accessible": accessibility.assert_accessible,
    "assert_screenshot_matches": visual.assert_screenshot_matches,
}

STOPPED = "Stopped"
# Past its timeout, a step's Playwright calls have all given up; a step still running this
# much later is waiting on something with no timeout of its own (a page's script), and is
# ended here, so no page can hold a replay.
GRACE_S = 3.0


def _summary(arguments: Mapping[str, Any]) -> str:
    """A description for a step no handler has described (unknown, or stopped before)."""
    recorded = arguments.get("assertion_description")
    if isinstance(recorded, str) and recorded.strip():
        return recorded.strip()
    action = arguments.get("action")
    if not isinstance(action, str) or not action:
        return "Step without an action"
    details = ", ".join(
        f"{name}={value!r}" for name, value in arguments.items() if name != "action"
    )
    words = action.replace("_", " ").capitalize()
    return f"{words} ({details})" if details else words


async def execute_step(context: StepContext, arguments: Mapping[str, Any]) -> StepOutcome:
    """Replay one proven step on `context.page` and say how it ended.

    `arguments` is the step's `arguments` from `proven_steps`, placeholders filled in, e.g.
    `{"action": "click_element", "index": 3}`. Every problem of the step (unknown action,
    wrong argument, element not found, timeout, navigation error, false assertion) is a
    failed outcome whose `error` says what was expected and what was found; only bugs
    raise. Each Playwright call gets what is left of `context.timeout_ms`. When
    `context.stop` is set, the step ends (or does not start) with `stopped=True`.
    """
    step = StepRun(context=context, arguments=arguments, description=_summary(arguments))
    if context.stop.is_set():
        return step.outcome(error=STOPPED, stopped=True)
    action = arguments.get("action")
    handler = ACTIONS.get(action) if isinstance(action, str) else None
    if handler is None:
        known = ", ".join(sorted(ACTIONS))
        named = "The step has no action" if action is None else f"Unknown action '{action}'"
        return step.outcome(error=f"{named}; known actions: {known}")
    guard = asyncio.timeout(context.timeout_ms / 1000 + GRACE_S)
    try:
        async with guard:
            step.guard = guard
            outcome = await _run(handler, step)
            # Not in a `finally`: a cancelled step leaves the page to whoever cancelled it.
            if step.tagged:
                await untag(step.page)
            return outcome
    except TimeoutError:
        if not guard.expired():
            raise
        seconds = number_code(round(context.timeout_ms / 1000 + GRACE_S, 1))
        return step.outcome(
            error=f"The step did not finish within {seconds} s: the page stopped answering "
            "(a script that never yields, or a renderer that hung)"
        )


async def _run(handler: Handler, step: StepRun) -> StepOutcome:
    try:
        await handler(step)
    except StepStopped:
        return step.outcome(error=STOPPED, stopped=True)
    except StepFailed as failure:
        return step.outcome(error=scrub(str(failure)), element_html=await element_html(step))
    except Error as error:  # the page crashed or was closed under the step
        return step.outcome(error=scrub(explain(error)), element_html=await element_html(step))
    return step.outcome()
