"""Reading a step's arguments: each reader returns a typed value or fails the step."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from execution.steps.step import StepFailed

# Placeholders are filled in as text, so `"{{delay}}"` arrives as "2": numbers may be strings.
_NUMBER = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*")
_WHOLE = re.compile(r"\s*[0-9]+\s*")


def _action(arguments: Mapping[str, Any]) -> str:
    return str(arguments.get("action"))


def _names(names: tuple[str, ...]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def optional_text(arguments: Mapping[str, Any], *names: str) -> str | None:
    """The first of `names` given as text (numbers count as their text), else None."""
    for name in names:
        value = arguments.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise StepFailed(f"`{name}` must be text, not {value!r}")
    return None


def text(arguments: Mapping[str, Any], *names: str, allow_empty: bool = False) -> str:
    """The first of `names` given as text; fails the step when none is (or it is empty)."""
    value = optional_text(arguments, *names)
    if value is None or (not value.strip() and not allow_empty):
        raise StepFailed(f"{_action(arguments)} needs {_names(names)}")
    return value


def optional_number(arguments: Mapping[str, Any], name: str) -> float | None:
    """A non-negative finite number (or numeric text), None when absent."""
    value = arguments.get(name)
    if value is None:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    number = (
        float(value) if is_number or (isinstance(value, str) and _NUMBER.fullmatch(value)) else None
    )
    if number is None or not math.isfinite(number) or number < 0:
        raise StepFailed(f"`{name}` must be a non-negative number, not {value!r}")
    return number


def optional_index(arguments: Mapping[str, Any]) -> int | None:
    """The element `index` (0-based), None when absent."""
    value = arguments.get("index")
    if value is None:
        return None
    if isinstance(value, str) and _WHOLE.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise StepFailed(f"`index` must be a whole number from 0 up, not {value!r}")
