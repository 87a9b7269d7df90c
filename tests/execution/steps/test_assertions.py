"""Assertions wait for their condition and record a checkpoint, passed or not."""

from __future__ import annotations

from playwright.async_api import Page

from execution.steps import CheckpointOutcome
from tests.execution.steps.conftest import Run

LATER = "<script>setTimeout(() => {{ {} }}, 300)</script>"


async def test_url_contains_passes_with_the_recorded_description(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/dashboard")

    outcome = await run(
        action="assert_url_contains",
        expected_text="/dashboard",
        assertion_description="Successfully logged in",
    )

    assert outcome.status == "passed", outcome.error
    assert outcome.description == "Successfully logged in"
    assert outcome.checkpoint == CheckpointOutcome(
        name="Successfully logged in",
        checkpoint_type="element",
        passed=True,
        expected={"url_contains": "/dashboard"},
        actual={"url": f"{site}/dashboard"},
    )
    assert outcome.playwright_code == (
        'await expect(page).to_have_url(re.compile(re.escape("/dashboard")))'
    )


async def test_url_contains_fails_with_expected_and_actual(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/login")

    outcome = await run(action="assert_url_contains", expected_text="/dashboard", timeout_ms=300)

    assert outcome.status == "failed"
    assert outcome.error == f"Expected the URL to contain '/dashboard', but it is '{site}/login'"
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.name == "Check that the URL contains '/dashboard'"
    assert not outcome.checkpoint.passed
    assert outcome.checkpoint.actual == {"url": f"{site}/login"}


async def test_url_contains_waits_for_the_url_to_change(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/login")
    await page.evaluate("setTimeout(() => history.pushState({}, '', '/dashboard'), 300)")

    outcome = await run(action="assert_url_contains", expected_text="/dashboard")

    assert outcome.status == "passed", outcome.error


async def test_title_contains_passes_and_fails(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/login")

    passed = await run(action="assert_title_contains", text="Log")
    failed = await run(action="assert_title_contains", expected_text="Welcome", timeout_ms=300)

    assert passed.status == "passed", passed.error
    assert passed.checkpoint is not None
    assert passed.checkpoint.actual == {"title": "Login"}
    assert failed.error == "Expected the title to contain 'Welcome', but it is 'Login'"
    assert failed.checkpoint is not None
    assert failed.checkpoint.expected == {"title_contains": "Welcome"}
    assert not failed.checkpoint.passed


async def test_title_contains_waits_for_the_title(page: Page, run: Run) -> None:
    await page.set_content("<title>Loading</title>" + LATER.format("document.title = 'Ready'"))

    outcome = await run(action="assert_title_contains", expected_text="Ready")

    assert outcome.status == "passed", outcome.error


async def test_text_present_passes_and_fails_with_the_page_text(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/dashboard")

    passed = await run(action="assert_text_present", text="Welcome back")
    failed = await run(action="assert_text_present", expected_text="Goodbye", timeout_ms=300)

    assert passed.status == "passed", passed.error
    assert passed.checkpoint is not None
    assert passed.checkpoint.passed
    assert passed.checkpoint.expected == {"text": "Welcome back"}
    assert failed.error == (
        "Expected the page to contain the text 'Goodbye', but it reads 'Welcome back, Ann'"
    )
    assert failed.checkpoint is not None
    assert failed.checkpoint.actual == {"found": False, "page_text": "Welcome back, Ann"}


async def test_text_present_takes_the_recorders_search_text(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/dashboard")

    outcome = await run(action="assert_text_present", search_text="Welcome back")

    assert outcome.status == "passed", outcome.error


async def test_text_present_ignores_hidden_text(page: Page, run: Run) -> None:
    await page.set_content("<p hidden>Secret</p><p>Public</p>")

    outcome = await run(action="assert_text_present", text="Secret", timeout_ms=300)

    assert outcome.status == "failed"


async def test_element_visible_by_search_text_stores_its_selector(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/dashboard")

    outcome = await run(
        action="assert_element_visible",
        search_text="Welcome",
        assertion_description="Welcome message is visible",
    )

    assert outcome.status == "passed", outcome.error
    assert outcome.selector == "h1"
    assert outcome.checkpoint == CheckpointOutcome(
        name="Welcome message is visible",
        checkpoint_type="element",
        passed=True,
        expected={"visible": True, "search_text": "Welcome"},
        actual={"visible": True, "element": "h1 'Welcome back, Ann'"},
        selector="h1",
    )
    assert await page.locator("[data-testrun-target]").count() == 0


async def test_element_visible_by_search_text_fails(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/login")

    outcome = await run(action="assert_element_visible", search_text="Welcome", timeout_ms=300)

    assert outcome.status == "failed"
    assert outcome.error == (
        "Expected an element with the text 'Welcome' to be visible, but there is none; "
        "the page reads 'Sign in Go'"
    )
    assert outcome.checkpoint is not None
    assert not outcome.checkpoint.passed


async def test_element_visible_waits_for_the_element(page: Page, run: Run) -> None:
    await page.set_content(
        "<p id='note' style='display: none'>Saved</p>"
        + LATER.format("document.getElementById('note').style.display = 'block'")
    )

    outcome = await run(action="assert_element_visible", search_text="Saved")

    assert outcome.status == "passed", outcome.error


async def test_element_visible_by_index_and_by_fingerprint(page: Page, run: Run) -> None:
    await page.set_content("<button id='save'>Save</button><button>Cancel</button>")

    by_index = await run(action="assert_element_visible", index=1)
    by_selector = await run(action="assert_element_visible", selector="#save")

    assert by_index.status == by_selector.status == "passed"
    assert by_index.selector == "button:nth-of-type(2)"
    assert by_index.checkpoint is not None
    assert by_index.checkpoint.selector == "button:nth-of-type(2)"
    assert by_index.checkpoint.expected == {"visible": True, "index": 1}
    assert by_index.description == "Check that element 1 is visible"
    assert by_selector.playwright_code == 'await expect(page.locator("#save")).to_be_visible()'


async def test_element_visible_by_index_fails_with_the_count(page: Page, run: Run) -> None:
    await page.set_content("<button>Save</button>")

    outcome = await run(action="assert_element_visible", index=3, timeout_ms=300)

    assert outcome.error == (
        "Expected element 3 to be visible, but: element index 3 is out of range: "
        "the page has 1 interactive element"
    )
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.actual == {"visible": False}
