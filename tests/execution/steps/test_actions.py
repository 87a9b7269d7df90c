"""execute_step itself: the action registry, and failures that never raise."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from execution.steps import ACTIONS, StepContext, execute_step
from tests.execution.steps.conftest import Run

KNOWN = (
    "assert_accessible, assert_api, assert_element_properties, assert_element_visible, "
    "assert_screenshot_matches, assert_text_present, assert_title_contains, "
    "assert_url_contains, click_element, go_back, hover, input_text, navigate_to, scroll, "
    "select_option, send_keys, wait"
)


def test_the_registry_holds_every_action() -> None:
    assert ", ".join(sorted(ACTIONS)) == KNOWN


async def test_unknown_action_lists_the_known_ones(run: Run) -> None:
    outcome = await run(action="fly_to", destination="moon")

    assert outcome.status == "failed"
    assert outcome.error == f"Unknown action 'fly_to'; known actions: {KNOWN}"
    assert outcome.description == "Fly to (destination='moon')"
    assert outcome.playwright_code == ""


async def test_a_step_without_an_action_fails(run: Run) -> None:
    outcome = await run(index=3)

    assert outcome.error == f"The step has no action; known actions: {KNOWN}"
    assert outcome.description == "Step without an action"


async def test_a_closed_page_fails_the_step_instead_of_raising(browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await context.close()

    outcome = await execute_step(
        StepContext(page=page, timeout_ms=500), {"action": "navigate_to", "url": "about:blank"}
    )

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert "closed" in outcome.error


async def test_a_nested_fingerprint_may_carry_text_for_typing_actions(page: Page, run: Run) -> None:
    await page.set_content("<label>Email <input id='email'></label><input id='other'>")

    outcome = await run(
        action="input_text", text="ann@example.com", fingerprint={"selector": "#email"}, index=1
    )

    assert outcome.status == "passed", outcome.error
    assert await page.input_value("#email") == "ann@example.com"
    assert outcome.selector == "#email"
    assert outcome.description == "Type 'ann@example.com' into text input 'Email'"


async def test_steps_run_back_to_back_without_a_fixed_delay(
    page: Page, site: str, run: Run
) -> None:
    steps: list[dict[str, object]] = [
        {"action": "navigate_to", "url": f"{site}/login"},
        {"action": "click_element", "index": 0},
        {"action": "assert_url_contains", "expected_text": "/dashboard"},
        {"action": "assert_element_visible", "search_text": "Welcome"},
        {"action": "go_back"},
        {"action": "assert_title_contains", "expected_text": "Login"},
    ]

    outcomes = [await run(**step) for step in steps]

    assert [outcome.error for outcome in outcomes] == [None] * len(steps)
