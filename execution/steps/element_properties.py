"""Element checkpoints with properties: each property read, compared and stored on its own."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.assertions import ELEMENT_CHECKPOINT, checkpoint_name
from execution.steps.base import CheckpointOutcome
from execution.steps.elements import locate, planned_label
from execution.steps.playwright_code import literal, locator_code, number_code
from execution.steps.step import StepFailed, StepRun

if TYPE_CHECKING:
    from playwright.async_api import Locator

OPERATORS = ("equals", "contains", "matches", "greater_than", "less_than")
# Properties read by name; `attribute:NAME` and `css:NAME` read any attribute or style.
NAMED = ("text", "value", "visible", "enabled", "checked", "tag", "x", "y", "width", "height")
_PREFIXES = ("attribute:", "css:")

# Reads every non-state property of the element in one call.
_READ = """(element, names) => {
  const box = element.getBoundingClientRect();
  const read = (name) => {
    if (name === "text") return (element.innerText ?? element.textContent ?? "")
      .replace(/\\s+/g, " ").trim();
    if (name === "value") return "value" in element ? String(element.value) : null;
    if (name === "tag") return element.tagName.toLowerCase();
    if (name in {x: 1, y: 1, width: 1, height: 1}) return Math.round(box[name] * 100) / 100;
    if (name.startsWith("attribute:")) return element.getAttribute(name.slice(10));
    if (name.startsWith("css:")) return getComputedStyle(element).getPropertyValue(name.slice(4));
    return null;
  };
  return Object.fromEntries(names.map((name) => [name, read(name)]));
}"""
_STATES = ("visible", "enabled", "checked")
# How long one read of a found element may take.
READ_TIMEOUT_MS = 1000


@dataclass(frozen=True, slots=True)
class Check:
    """One property compared with one operator."""

    name: str
    operator: str
    expected: Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().removesuffix("px"))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _truth(value: Any) -> bool | None:
    """A boolean, or the text a placeholder made of one ("true", "false")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def parse_checks(given: Any) -> list[Check]:
    """The step's `properties` as checks; fails the step naming what is wrong.

    Each property maps to a value (compared with `equals`) or to `{operator: value}`
    objects, one check per operator.
    """
    if not isinstance(given, Mapping) or not given:
        raise StepFailed(
            'assert_element_properties needs `properties`, e.g. {"text": {"equals": "Submit"}}'
        )
    checks = []
    for name, spec in given.items():
        if name not in NAMED and not (name.startswith(_PREFIXES) and name.split(":", 1)[1]):
            known = ", ".join((*NAMED, "attribute:NAME", "css:NAME"))
            raise StepFailed(f"Unknown property `properties.{name}`; known properties: {known}")
        pairs = list(spec.items()) if isinstance(spec, Mapping) else [("equals", spec)]
        if not pairs:
            raise StepFailed(f"`properties.{name}` needs an operator: {', '.join(OPERATORS)}")
        for operator, expected in pairs:
            checks.append(_check(name, str(operator), expected))
    return checks


def _check(name: str, operator: str, expected: Any) -> Check:
    where = f"`properties.{name}.{operator}`"
    if operator not in OPERATORS:
        raise StepFailed(f"Unknown operator {where}; known operators: {', '.join(OPERATORS)}")
    if name in _STATES:
        if operator != "equals" or _truth(expected) is None:
            raise StepFailed(f"{where} must be true or false (`{name}` only equals)")
        return Check(name, operator, _truth(expected))
    if operator in ("greater_than", "less_than") and _number(expected) is None:
        raise StepFailed(f"{where} must be a number, not {expected!r}")
    if operator == "matches":
        try:
            re.compile(str(expected))
        except re.error as error:
            raise StepFailed(f"{where} is not a valid regular expression: {error}") from None
    if isinstance(expected, Mapping | list) or expected is None:
        raise StepFailed(f"{where} must be text, a number or true/false, not {expected!r}")
    return Check(name, operator, expected)


def compare(check: Check, actual: Any) -> bool:
    """Whether `actual` satisfies the check (a property the element lacks never does)."""
    if actual is None:
        return False
    if check.operator in ("greater_than", "less_than"):
        number, bound = _number(actual), _number(check.expected)
        if number is None or bound is None:
            return False
        return number > bound if check.operator == "greater_than" else number < bound
    if check.operator == "equals":
        if isinstance(check.expected, bool) or isinstance(actual, bool):
            return _truth(actual) is not None and _truth(actual) == _truth(check.expected)
        numbers = _number(actual), _number(check.expected)
        if None not in numbers and not isinstance(actual, str):
            return numbers[0] == numbers[1]
        return str(actual) == _text(check.expected)
    if check.operator == "contains":
        return _text(check.expected) in str(actual)
    return re.search(str(check.expected), str(actual)) is not None


def _text(value: Any) -> str:
    if isinstance(value, float):
        return number_code(value)
    return str(value)


async def _read(locator: Locator, checks: list[Check], timeout_ms: float) -> dict[str, Any]:
    names = sorted({check.name for check in checks})
    values: dict[str, Any] = {}
    if "visible" in names:
        values["visible"] = await locator.is_visible()
    if "enabled" in names:
        values["enabled"] = await locator.is_enabled(timeout=timeout_ms)
    if "checked" in names:
        try:
            values["checked"] = await locator.is_checked(timeout=timeout_ms)
        except Error:  # not a checkbox or radio: it is not checked
            values["checked"] = False
    others = [name for name in names if name not in _STATES]
    if others:
        values |= await locator.evaluate(_READ, others, timeout=timeout_ms)
    return values


async def assert_element_properties(step: StepRun) -> None:
    """The step's element (index or fingerprint) has every property in `properties`."""
    checks = parse_checks(step.arguments.get("properties"))
    label = planned_label(step.arguments)
    name = checkpoint_name(step, f"Check the properties of {label}")
    expected: dict[str, Any] = {"properties": dict(step.arguments["properties"])}
    if (index := arguments.optional_index(step.arguments)) is not None:
        expected["index"] = index
    try:
        target = await locate(step)
    except StepFailed as failure:
        verifications = [verification(check, None, passed=False) for check in checks]
        _store(step, name, expected, {"found": False}, verifications)
        raise StepFailed(f"Could not check the properties of {label}: {failure}") from None
    step.playwright_code = "\n".join(_code(target.selector, check) for check in checks)

    async def probe() -> dict[str, Any]:
        try:
            # Not the step's remainder: the last look comes when that is spent.
            return await _read(target.locator, checks, READ_TIMEOUT_MS)
        except Error:  # the element went or the page is between documents: look again
            return {}

    def passed(values: dict[str, Any]) -> bool:
        return all(compare(check, values.get(check.name)) for check in checks)

    values = await step.poll(probe, passed)
    verifications = [
        verification(check, values.get(check.name), passed=compare(check, values.get(check.name)))
        for check in checks
    ]
    _store(step, name, expected, {"element": target.facts["description"], **values}, verifications)
    failed = [v for v in verifications if not v["passed"]]
    if failed:
        listed = "; ".join(
            f"{v['property_name']} {v['operator'].replace('_', ' ')} {v['expected_value']!r}, "
            f"but it is {v['actual_value']!r}"
            for v in failed
        )
        counted = f"{len(failed)} of {len(checks)} properties"
        raise StepFailed(f"{target.label} fails {counted}: {listed}")


def verification(check: Check, actual: Any, *, passed: bool) -> dict[str, Any]:
    """A `property_verifications` entry (test-run-api.md's shape)."""
    return {
        "property_name": check.name,
        "operator": check.operator,
        "expected_value": check.expected,
        "actual_value": actual,
        "passed": passed,
    }


def _store(
    step: StepRun,
    name: str,
    expected: dict[str, Any],
    actual: dict[str, Any],
    verifications: list[dict[str, Any]],
) -> None:
    failed = list(dict.fromkeys(v["property_name"] for v in verifications if not v["passed"]))
    step.checkpoint = CheckpointOutcome(
        name=name,
        checkpoint_type=ELEMENT_CHECKPOINT,
        passed=not failed,
        expected=expected,
        actual=actual,
        selector=step.selector,
        property_verifications=verifications,
        failed_properties=failed,
    )


def _code(selector: str, check: Check) -> str:
    """The Playwright line that checks the same thing."""
    locator = locator_code(selector)
    value = _text(check.expected)
    if check.name in _STATES:
        words = {
            "visible": ("to_be_visible()", "to_be_hidden()"),
            "enabled": ("to_be_enabled()", "to_be_disabled()"),
            "checked": ("to_be_checked()", "not_to_be_checked()"),
        }[check.name]
        return f"await expect({locator}).{words[0] if check.expected else words[1]}"
    if check.operator in ("greater_than", "less_than"):
        sign = ">" if check.operator == "greater_than" else "<"
        bound = number_code(_number(check.expected) or 0.0)
        return f"assert {_read_code(locator, check.name)} {sign} {bound}"
    pattern = {
        "equals": literal(value),
        "contains": f"re.compile(re.escape({literal(value)}))",
        "matches": f"re.compile({literal(value)})",
    }[check.operator]
    if check.name == "text":
        if check.operator == "contains":
            return f"await expect({locator}).to_contain_text({literal(value)})"
        return f"await expect({locator}).to_have_text({pattern})"
    if check.name == "value":
        return f"await expect({locator}).to_have_value({pattern})"
    if check.name.startswith("attribute:"):
        attribute = literal(check.name.split(":", 1)[1])
        return f"await expect({locator}).to_have_attribute({attribute}, {pattern})"
    if check.name.startswith("css:"):
        style = literal(check.name.split(":", 1)[1])
        return f"await expect({locator}).to_have_css({style}, {pattern})"
    if check.operator == "equals":
        return f"assert {_read_code(locator, check.name)} == {literal(value)}"
    return f"assert {pattern}.search({_read_code(locator, check.name)})"


def _read_code(locator: str, name: str) -> str:
    if name in ("x", "y", "width", "height"):
        return f'(await {locator}.bounding_box())["{name}"]'
    if name == "tag":
        return f'await {locator}.evaluate("(element) => element.tagName.toLowerCase()")'
    if name == "text":
        return f"await {locator}.inner_text()"
    if name == "value":
        return f"await {locator}.input_value()"
    if name.startswith("attribute:"):
        return f"await {locator}.get_attribute({literal(name.split(':', 1)[1])})"
    style = literal(name.split(":", 1)[1])
    return (
        f'await {locator}.evaluate("(element, name) => getComputedStyle(element)'
        f'.getPropertyValue(name)", {style})'
    )
