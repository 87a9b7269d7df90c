"""The element index in the page: element_index.js, and readable selectors for what it finds."""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal, TypedDict, cast

from playwright.async_api import Error

if TYPE_CHECKING:
    from playwright.async_api import FrameLocator, Locator, Page

# The attribute that marks an element found by index (and the iframes around it) for the
# length of one step, so Playwright can act on exactly that element.
ATTRIBUTE = "data-testrun-target"
_TAG_TEXT = re.compile(rf'\s?{ATTRIBUTE}=\\?"[0-9a-f]*\\?"')


class ElementFacts(TypedDict):
    """What element_index.js reports about one element."""

    description: str  # e.g. "button 'Log in'"
    tag: str
    fillable: bool  # Playwright's fill() accepts it
    secret: bool  # a password input: what is typed into it is never recorded
    selectors: list[str]  # readable selectors meant to match only it, best first


class _Found(TypedDict):
    found: Literal[True]
    depth: int  # how many iframes are around the element
    facts: ElementFacts


class _OutOfRange(TypedDict):
    found: Literal[False]
    count: int


@dataclass(frozen=True, slots=True)
class IndexedElement:
    """One element of the page's index."""

    index: int
    description: str
    tag: str


@dataclass(frozen=True, slots=True)
class IndexLookup:
    """The result of looking up an index: the element's facts, or the page's count."""

    count: int | None
    facts: ElementFacts | None = None
    locator: Locator | None = None


@functools.cache
def script() -> str:
    """The source of element_index.js: one function taking a request."""
    return resources.files("execution.steps").joinpath("element_index.js").read_text("utf-8")


@functools.cache
def _on_element() -> str:
    # Locator.evaluate passes the element first; the script takes it in its request.
    return f"(element, request) => (\n{script()}\n)({{...request, element}})"


def tag_selector(nonce: str) -> str:
    """The CSS selector of what one step tagged."""
    return f'[{ATTRIBUTE}="{nonce}"]'


def scrub(text: str) -> str:
    """`text` (HTML or a message) without the step's temporary tags."""
    return _TAG_TEXT.sub("", text)


async def look_up(page: Page, index: int, nonce: str) -> IndexLookup:
    """Find and tag the element at `index`; its facts and a locator, or the page's count."""
    request = {"op": "resolve", "index": index, "attribute": ATTRIBUTE, "nonce": nonce}
    result = cast("_Found | _OutOfRange", await page.evaluate(script(), request))
    if not result["found"]:
        return IndexLookup(count=result["count"])
    scope: Page | FrameLocator = page
    for _ in range(result["depth"]):
        scope = scope.locator(tag_selector(nonce)).content_frame
    return IndexLookup(
        count=None, facts=result["facts"], locator=scope.locator(tag_selector(nonce))
    )


async def describe(locator: Locator, *, nonce: str | None, timeout_ms: float) -> ElementFacts:
    """The facts of the element `locator` finds, tagging it when `nonce` is given."""
    request = {"op": "describe", "attribute": ATTRIBUTE, "nonce": nonce}
    return cast("ElementFacts", await locator.evaluate(_on_element(), request, timeout=timeout_ms))


async def indexed_elements(page: Page) -> list[IndexedElement]:
    """Every element of the page's index, in index order (for people reading a page)."""
    found = cast("list[dict[str, str]]", await page.evaluate(script(), {"op": "list"}))
    return [
        IndexedElement(index=index, description=item["description"], tag=item["tag"])
        for index, item in enumerate(found)
    ]


async def untag(page: Page) -> None:
    """Remove the temporary tags; a page that has navigated away has none left."""
    with contextlib.suppress(Error):
        await page.evaluate(script(), {"op": "untag", "attribute": ATTRIBUTE})


async def readable_selector(page: Page, candidates: list[str], nonce: str) -> str:
    """The first candidate that finds only the tagged element, else one made exact by nth."""
    check = """(elements, [attribute, nonce]) => [
        elements.length, elements.findIndex((e) => e.getAttribute(attribute) === nonce)]"""
    fallback: str | None = None
    for candidate in candidates:
        try:
            count, position = cast(
                "list[int]",
                await page.locator(candidate).evaluate_all(check, [ATTRIBUTE, nonce]),
            )
        except Error:  # a selector Playwright reads differently from the browser
            continue
        if count == 1 and position == 0:
            return candidate
        if position >= 0 and fallback is None:
            fallback = f"{candidate} >> nth={position}"
    return fallback or candidates[-1]
