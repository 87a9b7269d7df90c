"""Finding the element a step acts on: its fingerprint first, its index as the fallback."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error

from execution.steps.arguments import optional_index, optional_text
from execution.steps.element_index import (
    ElementFacts,
    describe,
    look_up,
    readable_selector,
    scrub,
)
from execution.steps.playwright_code import literal
from execution.steps.step import StepFailed, StepRun, explain

if TYPE_CHECKING:
    from playwright.async_api import Locator

# The fingerprint arguments, in the order they are tried.
FINGERPRINTS: tuple[str, ...] = ("selector", "xpath", "id", "name", "text")
ELEMENT_HTML_LIMIT = 2000

_CSS_IDENTIFIER = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")
# Arguments that are an action's value, not a fingerprint, when they share a name.
_VALUES: dict[str, tuple[str, ...]] = {
    "input_text": ("text",),
    "select_option": ("text",),
    "assert_screenshot_matches": ("name",),
}
# Playwright's words for a selector it cannot parse (as opposed to a page between documents).
_INVALID_SELECTOR = re.compile(r"pars|Unexpected token|not a valid|Unknown engine", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Target:
    """The element a step acts on, and how a person would find it again."""

    locator: Locator
    selector: str  # readable: what StepOutcome.selector and playwright_code show
    facts: ElementFacts
    index: int | None = None  # set when the index found it, not the fingerprint

    @property
    def label(self) -> str:
        """How descriptions and errors name it: "element 3 (button 'Log in')"."""
        if self.index is None:
            return self.facts["description"]
        return f"element {self.index} ({self.facts['description']})"


@dataclass(frozen=True, slots=True)
class _Miss:
    count: int | None = None  # the page's indexed elements, when the index was looked up
    problem: str | None = None  # why the page's elements could not be read


def _css_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def _fingerprint_selector(kind: str, value: str) -> str:
    if kind == "selector":
        return value
    if kind == "xpath":
        return value if value.startswith("xpath=") else f"xpath={value}"
    if kind == "id":
        return f"#{value}" if _CSS_IDENTIFIER.fullmatch(value) else f"[id={_css_string(value)}]"
    if kind == "name":
        return f"[name={_css_string(value)}]"
    return f"text={literal(value)}"


def fingerprint_selectors(arguments: Mapping[str, Any]) -> list[str]:
    """The Playwright selectors of the step's fingerprint, in the order they are tried.

    The fingerprint is the step's `fingerprint` object if it has one, else its own
    `selector`, `xpath`, `id`, `name` and `text` arguments; `text` is left out for the
    actions that type or choose it (input_text, select_option).
    """
    nested = arguments.get("fingerprint")
    if isinstance(nested, Mapping):
        source: Mapping[str, Any] = nested
        kinds = FINGERPRINTS
    else:
        source = arguments
        kinds = tuple(
            kind for kind in FINGERPRINTS if kind not in _VALUES.get(str(source.get("action")), ())
        )
    selectors = []
    for kind in kinds:
        value = optional_text(source, kind)
        if value and value.strip():
            selectors.append(_fingerprint_selector(kind, value.strip()))
    return selectors


def names_element(arguments: Mapping[str, Any]) -> bool:
    """Whether the step names an element (by index or fingerprint)."""
    return optional_index(arguments) is not None or bool(fingerprint_selectors(arguments))


def planned_label(arguments: Mapping[str, Any]) -> str:
    """How to name the step's element before it is found: "element 3", "'#login'"."""
    index = optional_index(arguments)
    if index is not None:
        return f"element {index}"
    selectors = fingerprint_selectors(arguments)
    return f"'{selectors[0]}'" if selectors else "an element"


async def locate(step: StepRun) -> Target:
    """The step's element, waiting up to the step's timeout for it to be there and visible.

    The fingerprint is tried first (the first visible match of `selector`, `xpath`, `id`,
    `name`, `text`, in that order), then `index`. Sets the step's `element` and `selector`.

    Raises:
        StepFailed: Neither finds a visible element in time, or the arguments are wrong.
    """
    fingerprints = fingerprint_selectors(step.arguments)
    index = optional_index(step.arguments)
    if not fingerprints and index is None:
        raise StepFailed(
            f"{step.action} needs an element: `index`, or a `selector`, `xpath`, `id`, "
            "`name` or `text`"
        )
    # An index counts elements, so a half-parsed document would give the wrong one.
    with contextlib.suppress(Error):
        await step.page.wait_for_load_state("domcontentloaded", timeout=step.timeout_ms())

    async def attempt() -> Target | _Miss:
        for selector in fingerprints:
            target = await _by_fingerprint(step, selector)
            if target is not None:
                return target
        return _Miss() if index is None else await _by_index(step, index)

    found = await step.poll(attempt, lambda result: isinstance(result, Target))
    if isinstance(found, _Miss):
        raise StepFailed(_not_found(step, fingerprints, index, found))
    step.element = found.locator
    step.selector = found.selector
    return found


async def _by_fingerprint(step: StepRun, selector: str) -> Target | None:
    matches = step.page.locator(selector)
    try:
        total = await matches.count()
        visible = await matches.filter(visible=True).count() if total else 0
    except Error as error:
        if _INVALID_SELECTOR.search(error.message):
            raise StepFailed(f"Invalid selector '{selector}': {explain(error)}") from None
        return None  # the page is between documents: look again
    if not visible:
        return None
    if total == 1:
        readable = selector
    elif visible == 1:
        readable = f"{selector} >> visible=true"
    else:
        readable = f"{selector} >> visible=true >> nth=0"
    locator = step.page.locator(readable)
    try:
        # Short: the element was just there; if it went, the next attempt looks again.
        facts = await describe(locator, nonce=None, timeout_ms=min(step.timeout_ms(), 1000))
    except Error:
        return None
    return Target(locator=locator, selector=readable, facts=facts)


async def _by_index(step: StepRun, index: int) -> Target | _Miss:
    try:
        found = await look_up(step.page, index, step.nonce)
    except Error as error:  # e.g. the document was replaced while it was read
        return _Miss(problem=explain(error))
    if found.facts is None or found.locator is None:
        return _Miss(count=found.count)
    step.tagged = True
    selector = await readable_selector(step.page, found.facts["selectors"], step.nonce)
    return Target(locator=found.locator, selector=selector, facts=found.facts, index=index)


def _elements(count: int) -> str:
    return f"{count} interactive element{'' if count == 1 else 's'}"


def _not_found(step: StepRun, fingerprints: list[str], index: int | None, miss: _Miss) -> str:
    reasons = []
    if fingerprints:
        quoted = " or ".join(f"'{selector}'" for selector in fingerprints)
        reasons.append(f"no visible element matches {quoted} after {step.context.timeout_ms} ms")
    if index is not None and miss.count is not None:
        reasons.append(
            f"element index {index} is out of range: the page has {_elements(miss.count)}"
        )
    elif index is not None:
        reasons.append(f"the page's elements could not be read: {miss.problem}")
    message = ", and ".join(reasons)
    return message[0].upper() + message[1:]


async def element_html(step: StepRun) -> str | None:
    """The outerHTML of the step's element (shortened), None when there is none."""
    if step.element is None:
        return None
    try:
        html = await step.element.evaluate(
            "(element) => element.outerHTML", timeout=min(step.context.timeout_ms, 2000)
        )
    except Error:
        return None
    html = scrub(str(html))
    return html if len(html) <= ELEMENT_HTML_LIMIT else f"{html[: ELEMENT_HTML_LIMIT - 1]}…"
