"""assert_element_properties: each property is read, compared and stored with its operator."""

from __future__ import annotations

from playwright.async_api import Page

from tests.execution.steps.conftest import Run

FORM = """<!doctype html><title>Form</title>
<a id="login" href="/account/login?next=/home" style="display:inline-block;width:120px">Log in</a>
<button id="send" disabled>Submit</button>
<input id="agree" type="checkbox" checked>
<input id="email" value="ann@example.com">"""


async def test_every_property_passes_with_its_verification(page: Page, run: Run) -> None:
    await page.set_content(FORM)

    outcome = await run(
        action="assert_element_properties",
        selector="#login",
        properties={
            "text": {"equals": "Log in"},
            "visible": True,
            "enabled": True,
            "attribute:href": {"contains": "/login", "matches": r"next=/\w+$"},
            "width": {"greater_than": 100, "less_than": "121"},
            "tag": "a",
        },
    )

    assert outcome.status == "passed", outcome.error
    checkpoint = outcome.checkpoint
    assert checkpoint is not None
    assert checkpoint.passed
    assert checkpoint.checkpoint_type == "element"
    assert checkpoint.profile == "functional"
    assert checkpoint.failed_properties == []
    assert checkpoint.selector == "#login"
    assert checkpoint.property_verifications == [
        {
            "property_name": "text",
            "operator": "equals",
            "expected_value": "Log in",
            "actual_value": "Log in",
            "passed": True,
        },
        {
            "property_name": "visible",
            "operator": "equals",
            "expected_value": True,
            "actual_value": True,
            "passed": True,
        },
        {
            "property_name": "enabled",
            "operator": "equals",
            "expected_value": True,
            "actual_value": True,
            "passed": True,
        },
        {
            "property_name": "attribute:href",
            "operator": "contains",
            "expected_value": "/login",
            "actual_value": "/account/login?next=/home",
            "passed": True,
        },
        {
            "property_name": "attribute:href",
            "operator": "matches",
            "expected_value": r"next=/\w+$",
            "actual_value": "/account/login?next=/home",
            "passed": True,
        },
        {
            "property_name": "width",
            "operator": "greater_than",
            "expected_value": 100,
            "actual_value": 120,
            "passed": True,
        },
        {
            "property_name": "width",
            "operator": "less_than",
            "expected_value": "121",
            "actual_value": 120,
            "passed": True,
        },
        {
            "property_name": "tag",
            "operator": "equals",
            "expected_value": "a",
            "actual_value": "a",
            "passed": True,
        },
    ]
    assert outcome.playwright_code.splitlines()[:4] == [
        'await expect(page.locator("#login")).to_have_text("Log in")',
        'await expect(page.locator("#login")).to_be_visible()',
        'await expect(page.locator("#login")).to_be_enabled()',
        'await expect(page.locator("#login")).to_have_attribute("href", '
        're.compile(re.escape("/login")))',
    ]
    assert 'assert (await page.locator("#login").bounding_box())["width"] > 100' in (
        outcome.playwright_code
    )


async def test_failing_properties_are_listed_and_named_in_the_error(page: Page, run: Run) -> None:
    await page.set_content(FORM)

    outcome = await run(
        action="assert_element_properties",
        selector="#send",
        properties={"text": "Submit", "enabled": True, "attribute:type": {"equals": "submit"}},
        timeout_ms=400,
    )

    assert outcome.status == "failed"
    assert outcome.error == (
        "button 'Submit' fails 2 of 3 properties: enabled equals True, but it is False; "
        "attribute:type equals 'submit', but it is None"
    )
    checkpoint = outcome.checkpoint
    assert checkpoint is not None
    assert not checkpoint.passed
    assert checkpoint.failed_properties == ["enabled", "attribute:type"]
    assert checkpoint.property_verifications is not None
    assert [v["passed"] for v in checkpoint.property_verifications] == [True, False, False]
    assert checkpoint.actual["enabled"] is False


async def test_properties_are_waited_for(page: Page, run: Run) -> None:
    await page.set_content(
        FORM + "<script>setTimeout(() => { send.disabled = false }, 300)</script>"
    )

    outcome = await run(
        action="assert_element_properties", selector="#send", properties={"enabled": True}
    )

    assert outcome.status == "passed", outcome.error


async def test_the_element_is_found_by_index(page: Page, run: Run) -> None:
    await page.set_content(FORM)

    outcome = await run(
        action="assert_element_properties",
        index=2,
        properties={"value": {"contains": "@example"}, "checked": False},
    )

    assert outcome.status == "passed", outcome.error
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.expected["index"] == 2
    assert outcome.checkpoint.selector == "#email"


async def test_a_missing_element_fails_every_property(page: Page, run: Run) -> None:
    await page.set_content(FORM)

    outcome = await run(
        action="assert_element_properties",
        selector="#nowhere",
        properties={"text": "Hi"},
        timeout_ms=300,
    )

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith("Could not check the properties of '#nowhere': No visible")
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.failed_properties == ["text"]
    assert outcome.checkpoint.actual == {"found": False}


async def test_wrong_properties_fail_naming_the_field(page: Page, run: Run) -> None:
    await page.set_content(FORM)
    cases = {
        "Unknown property `properties.colour`": {"colour": "red"},
        "Unknown operator `properties.text.starts_with`": {"text": {"starts_with": "S"}},
        "`properties.width.greater_than` must be a number": {"width": {"greater_than": "wide"}},
        "`properties.text.matches` is not a valid regular expression": {"text": {"matches": "("}},
        "`properties.visible.equals` must be true or false": {"visible": "maybe"},
        "assert_element_properties needs `properties`": {},
    }
    for message, properties in cases.items():
        outcome = await run(
            action="assert_element_properties", selector="#send", properties=properties
        )

        assert outcome.status == "failed"
        assert outcome.error is not None
        assert outcome.error.startswith(message), outcome.error
