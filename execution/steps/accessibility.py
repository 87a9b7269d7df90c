"""Accessibility: axe-core (shipped by axe-playwright-python) scans a page, the step judges."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.assertions import ELEMENT_CHECKPOINT, checkpoint_name
from execution.steps.base import CheckpointOutcome
from execution.steps.elements import locate, names_element, planned_label
from execution.steps.playwright_code import literal
from execution.steps.step import StepFailed, StepRun, explain

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

# axe-core's impacts, least first.
IMPACTS = ("minor", "moderate", "serious", "critical")
DEFAULT_IMPACT = "serious"
ACCESSIBILITY_PROFILE = "accessibility"
# Where a node's selectors are listed, at most this many per violation are kept.
TARGET_LIMIT = 20

_RUN = """async (element, options) => {
  const results = await axe.run(element ?? document, options);
  return results.violations.map((violation) => ({
    rule_id: violation.id,
    impact: violation.impact,
    help: violation.help,
    help_url: violation.helpUrl,
    nodes: violation.nodes.length,
    targets: violation.nodes.map((node) => node.target.map(String).join(" >> ")),
  }));
}"""


@functools.cache
def axe_script() -> str:
    """axe-core's source, as the axe-playwright-python package ships it."""
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")


def axe_options(rules: Any) -> dict[str, Any]:
    """axe.run's options for `rules`: a list to run only those, or {include, exclude}.

    Raises:
        StepFailed: `rules` has another shape.
    """
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules is None:
        return options
    include: Any = rules
    exclude: Any = []
    if isinstance(rules, Mapping):
        unknown = set(rules) - {"include", "exclude"}
        if unknown:
            raise StepFailed(f"`rules` takes `include` and `exclude`, not {sorted(unknown)}")
        include, exclude = rules.get("include"), rules.get("exclude", [])
    for name, given in (("include", include), ("exclude", exclude)):
        if given is not None and (
            isinstance(given, str)
            or not isinstance(given, Sequence)
            or not all(isinstance(rule, str) and rule for rule in given)
        ):
            raise StepFailed(f"`rules.{name}` must be a list of axe rule ids, not {given!r}")
    if include:
        options["runOnly"] = {"type": "rule", "values": list(include)}
    if exclude:
        options["rules"] = {rule: {"enabled": False} for rule in exclude}
    return options


async def scan_page(
    page: Page,
    *,
    element: Locator | None = None,
    selector: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """axe-core on the page (or on `element`, found as `selector`): an accessibility_results entry.

    The entry is `{"url", "selector", "violations": [{rule_id, impact, help, help_url,
    targets, nodes}]}`. Raises playwright's Error when the page cannot be scanned (closed,
    replaced while scanning, an unknown rule id).
    """
    # The element's frame, which is the page's unless the element is in an iframe.
    scope = page if element is None else element
    if not await scope.evaluate("() => typeof axe !== 'undefined'"):
        await scope.evaluate(axe_script())
    chosen = options or axe_options(None)
    if element is None:
        violations = await page.evaluate(f"(options) => ({_RUN})(null, options)", chosen)
    else:
        violations = await element.evaluate(_RUN, chosen)
    for violation in violations:
        violation["targets"] = violation["targets"][:TARGET_LIMIT]
    return {"url": page.url, "selector": selector, "violations": violations}


def at_least(violations: list[dict[str, Any]], impact: str) -> list[dict[str, Any]]:
    """The violations whose impact is `impact` or worse."""
    floor = IMPACTS.index(impact)
    return [v for v in violations if v.get("impact") in IMPACTS[floor:]]


async def assert_accessible(step: StepRun) -> None:
    """No axe-core violation at or above `impact` on the page, or in the step's element.

    The element (optional) is found by `index` or fingerprint (`selector`, ...) as the
    other element actions find theirs.
    """
    impact = (arguments.optional_text(step.arguments, "impact") or DEFAULT_IMPACT).lower()
    if impact not in IMPACTS:
        raise StepFailed(f"`impact` must be one of {', '.join(IMPACTS)}, not '{impact}'")
    options = axe_options(step.arguments.get("rules"))
    where = planned_label(step.arguments) if names_element(step.arguments) else "the page"
    name = checkpoint_name(step, f"Check that {where} has no {impact} accessibility violations")
    target = await locate(step) if names_element(step.arguments) else None
    selector = None if target is None else target.selector
    if target is not None:
        where = target.label
    step.playwright_code = _code(selector, impact, options)
    try:
        scan = await scan_page(
            step.page,
            element=None if target is None else target.locator,
            selector=selector,
            options=options,
        )
    except Error as error:
        raise StepFailed(f"Could not scan {where} for accessibility: {explain(error)}") from None
    step.accessibility = scan
    violations = scan["violations"]
    failing = at_least(violations, impact)
    step.checkpoint = CheckpointOutcome(
        name=name,
        checkpoint_type=ELEMENT_CHECKPOINT,
        passed=not failing,
        expected={"impact_below": impact, "rules": step.arguments.get("rules")},
        actual=scan,
        selector=selector,
        profile=ACCESSIBILITY_PROFILE,
        property_verifications=[
            {
                "property_name": v["rule_id"],
                "operator": "equals",
                "expected_value": 0,
                "actual_value": v["nodes"],
                "passed": v not in failing,
                "impact": v["impact"],
                "help_url": v["help_url"],
            }
            for v in violations
        ],
        failed_properties=[v["rule_id"] for v in failing],
    )
    if failing:
        listed = ", ".join(
            f"{v['rule_id']} ({v['impact']}, {v['nodes']} node{'' if v['nodes'] == 1 else 's'})"
            for v in failing
        )
        raise StepFailed(
            f"{len(failing)} accessibility violation{'' if len(failing) == 1 else 's'} "
            f"at or above {impact} on {scan['url']}: {listed}"
        )


def _code(selector: str | None, impact: str, options: dict[str, Any]) -> str:
    # axe-playwright-python's context is a CSS selector; a Playwright-only one (an iframe's,
    # `>> nth=0`) would need axe.run on the element itself, as the step does.
    context = f", context={literal(selector)}" if selector else ""
    worse = ", ".join(literal(level) for level in IMPACTS[IMPACTS.index(impact) :])
    return (
        f"results = await Axe().run(page{context}, options={options!r})\n"
        f'assert not [v for v in results.response["violations"] if v["impact"] in ({worse},)]'
    )
