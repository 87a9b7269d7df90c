"""Writing a step as the Playwright Python a person would write for it."""

from __future__ import annotations

import json

# How a selector steps into an iframe's document; in code it is `.content_frame`.
FRAME_SEPARATOR = " >> internal:control=enter-frame >> "


def literal(value: str) -> str:
    """`value` as a Python string literal in double quotes."""
    # JSON's escapes are all valid Python escapes.
    return json.dumps(value, ensure_ascii=False)


def locator_code(selector: str) -> str:
    """The expression for `selector`'s locator, e.g. `page.locator("#login")`."""
    parts = selector.split(FRAME_SEPARATOR)
    return ".content_frame.".join(
        [f"page.locator({literal(parts[0])})", *(f"locator({literal(part)})" for part in parts[1:])]
    )


def number_code(value: float) -> str:
    """`value` as written in code: `2`, not `2.0`."""
    return str(int(value)) if value.is_integer() else str(value)
