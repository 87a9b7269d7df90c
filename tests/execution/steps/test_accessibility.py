"""assert_accessible: axe-core's violations at or above the impact fail the step."""

from __future__ import annotations

from playwright.async_api import Page

from tests.execution.checkpoint_site import ACCESSIBLE, INACCESSIBLE
from tests.execution.steps.conftest import Run


async def test_known_violations_fail_with_rule_impact_and_nodes(page: Page, run: Run) -> None:
    await page.set_content(INACCESSIBLE)

    outcome = await run(action="assert_accessible")

    assert outcome.status == "failed"
    checkpoint = outcome.checkpoint
    assert checkpoint is not None
    assert checkpoint.profile == "accessibility"
    assert checkpoint.checkpoint_type == "element"
    assert set(checkpoint.failed_properties or []) == {"image-alt", "color-contrast", "button-name"}
    assert outcome.accessibility is not None
    found = {v["rule_id"]: v for v in outcome.accessibility["violations"]}
    assert found["image-alt"]["impact"] == "critical"
    assert found["image-alt"]["targets"] == ["img"]
    assert found["image-alt"]["nodes"] == 1
    assert found["button-name"]["targets"] == ["#icon"]
    assert found["color-contrast"]["impact"] == "serious"
    assert found["color-contrast"]["help_url"].startswith("https://dequeuniversity.com/rules/axe/")
    assert outcome.error is not None
    assert outcome.error.startswith("3 accessibility violations at or above serious on about:")
    assert "image-alt (critical, 1 node)" in outcome.error


async def test_the_threshold_and_rules_decide_what_fails(page: Page, run: Run) -> None:
    await page.set_content(INACCESSIBLE)

    critical = await run(action="assert_accessible", impact="critical")
    only_contrast = await run(action="assert_accessible", rules=["color-contrast"])
    without = await run(
        action="assert_accessible",
        rules={"exclude": ["image-alt", "button-name"]},
        impact="critical",
    )

    assert critical.checkpoint is not None
    assert set(critical.checkpoint.failed_properties or []) == {"image-alt", "button-name"}
    verifications = {
        v["property_name"]: v["passed"] for v in critical.checkpoint.property_verifications or []
    }
    assert verifications == {"image-alt": False, "button-name": False, "color-contrast": True}
    assert only_contrast.checkpoint is not None
    assert only_contrast.checkpoint.failed_properties == ["color-contrast"]
    assert without.status == "passed", without.error


async def test_a_selector_scans_only_that_part(page: Page, run: Run) -> None:
    await page.set_content(INACCESSIBLE)

    outcome = await run(action="assert_accessible", selector="#icon")

    assert outcome.checkpoint is not None
    assert outcome.checkpoint.failed_properties == ["button-name"]
    assert outcome.checkpoint.selector == "#icon"


async def test_the_element_may_be_found_by_index(page: Page, run: Run) -> None:
    await page.set_content(INACCESSIBLE)

    outcome = await run(action="assert_accessible", index=0)

    assert outcome.checkpoint is not None
    assert outcome.checkpoint.failed_properties == ["button-name"]
    assert outcome.checkpoint.selector == "#icon"
    assert outcome.checkpoint.expected["impact_below"] == "serious"


async def test_a_clean_page_passes(page: Page, run: Run) -> None:
    await page.set_content(ACCESSIBLE)

    outcome = await run(action="assert_accessible")

    assert outcome.status == "passed", outcome.error
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.passed
    assert outcome.checkpoint.failed_properties == []
    assert outcome.playwright_code.startswith("results = await Axe().run(page, options=")


async def test_wrong_arguments_fail_naming_the_field(page: Page, run: Run) -> None:
    await page.set_content(ACCESSIBLE)
    cases = {
        "`impact` must be one of minor, moderate, serious, critical": {"impact": "huge"},
        "`rules.include` must be a list of axe rule ids": {"rules": "image-alt"},
        "`rules` takes `include` and `exclude`": {"rules": {"only": ["x"]}},
        "No visible element matches '#nowhere'": {"selector": "#nowhere", "timeout_ms": 300},
        "Could not scan the page for accessibility": {"rules": ["no-such-rule"]},
    }
    for message, arguments in cases.items():
        outcome = await run(action="assert_accessible", **arguments)

        assert outcome.status == "failed"
        assert outcome.error is not None
        assert outcome.error.startswith(message), outcome.error
