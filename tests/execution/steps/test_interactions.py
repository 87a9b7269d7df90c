"""Click, type, hover, select, keys and scroll: by fingerprint, by index, and their failures."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Page

from execution.steps.element_index import ATTRIBUTE
from tests.execution.steps.conftest import Run

BUTTONS = """
<button id="first" onclick="document.title = 'first'">First</button>
<button id="login" name="go" onclick="document.title = 'login'">Log in</button>
<button class="twin" style="display: none">Hidden twin</button>
<button class="twin" onclick="document.title = 'twin'">Visible twin</button>
"""


async def test_click_by_index(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", index=1)

    assert outcome.status == "passed", outcome.error
    assert await page.title() == "login"
    assert outcome.selector == "#login"
    assert outcome.description == "Click element 1 (button 'Log in')"
    assert outcome.playwright_code == 'await page.locator("#login").click()'


@pytest.mark.parametrize(
    ("fingerprint", "selector"),
    [
        ({"selector": "#login"}, "#login"),
        ({"xpath": "//button[2]"}, "xpath=//button[2]"),
        ({"id": "login"}, "#login"),
        ({"name": "go"}, '[name="go"]'),
        ({"text": "Log in"}, 'text="Log in"'),
    ],
    ids=["selector", "xpath", "id", "name", "text"],
)
async def test_click_by_each_fingerprint(
    page: Page, run: Run, fingerprint: dict[str, str], selector: str
) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", **fingerprint)

    assert outcome.status == "passed", outcome.error
    assert await page.title() == "login"
    assert outcome.selector == selector
    assert outcome.description == "Click button 'Log in'"


async def test_fingerprint_is_tried_before_the_index(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", index=0, selector="#login")

    assert await page.title() == "login"
    assert outcome.selector == "#login"


async def test_index_is_the_fallback_when_the_fingerprint_finds_nothing(
    page: Page, run: Run
) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", index=0, selector="#renamed", id="gone")

    assert outcome.status == "passed", outcome.error
    assert await page.title() == "first"
    assert outcome.selector == "#first"
    assert outcome.description == "Click element 0 (button 'First')"


async def test_fingerprint_takes_the_first_visible_match(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", selector=".twin")

    assert await page.title() == "twin"
    assert outcome.selector == ".twin >> visible=true"
    assert await page.locator(outcome.selector).count() == 1


async def test_missing_fingerprint_without_index_times_out(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)
    started = time.monotonic()

    outcome = await run(action="click_element", selector="#missing", timeout_ms=500)

    assert outcome.status == "failed"
    assert outcome.error == "No visible element matches '#missing' after 500 ms"
    assert time.monotonic() - started >= 0.5
    assert outcome.element_html is None


async def test_missing_fingerprint_and_index_out_of_range_say_both(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="hover", selector="#missing", index=5, timeout_ms=300)

    assert outcome.error == (
        "No visible element matches '#missing' after 300 ms, and element index 5 is out of "
        "range: the page has 3 interactive elements"
    )


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            {"action": "click_element"},
            "click_element needs an element: `index`, or a `selector`, `xpath`, `id`, `name` "
            "or `text`",
        ),
        (
            {"action": "click_element", "index": -1},
            "`index` must be a whole number from 0 up, not -1",
        ),
        (
            {"action": "click_element", "index": "two"},
            "`index` must be a whole number from 0 up, not 'two'",
        ),
        ({"action": "input_text", "index": 0}, "input_text needs `text`"),
        ({"action": "select_option", "index": 0}, "select_option needs `text` or `value`"),
        ({"action": "send_keys"}, "send_keys needs `keys`"),
        (
            {"action": "scroll", "direction": "sideways"},
            "scroll needs `direction` 'down' or 'up', not 'sideways' (or an element to scroll to)",
        ),
        (
            {"action": "scroll", "direction": "down", "amount": -5},
            "`amount` must be a non-negative number, not -5",
        ),
        ({"action": "click_element", "selector": "div["}, "Invalid selector 'div[': "),
    ],
)
async def test_bad_arguments_fail_the_step(
    page: Page, run: Run, arguments: dict[str, object], error: str
) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(**arguments)

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith(error)


async def test_numeric_text_index_from_a_placeholder_is_accepted(page: Page, run: Run) -> None:
    await page.set_content(BUTTONS)

    outcome = await run(action="click_element", index="1")

    assert outcome.status == "passed"
    assert await page.title() == "login"


async def test_failed_action_on_a_found_element_reports_its_html(page: Page, run: Run) -> None:
    await page.set_content(
        "<button onclick=\"document.title = 'clicked'\">Covered</button>"
        "<div style='position: fixed; inset: 0; background: white'></div>"
    )

    # Long enough for Playwright to try the click at least once on a busy machine.
    outcome = await run(action="click_element", index=0, timeout_ms=2000)

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith("Could not click element 0 (button 'Covered'): timed out after")
    assert "intercepts pointer events" in outcome.error
    assert ATTRIBUTE not in outcome.error
    assert outcome.element_html == "<button onclick=\"document.title = 'clicked'\">Covered</button>"
    assert outcome.selector == "button"


async def test_element_html_is_shortened(page: Page, run: Run) -> None:
    await page.set_content(f"<button disabled title='{'x' * 5000}'>Off</button><input disabled>")

    outcome = await run(action="click_element", selector="button", timeout_ms=1000)

    assert outcome.status == "failed"
    assert outcome.element_html is not None
    assert len(outcome.element_html) == 2000
    assert outcome.element_html.endswith("…")


async def test_input_text_fills_an_input(page: Page, run: Run) -> None:
    await page.set_content("<input name='email' value='old'>")

    outcome = await run(action="input_text", index=0, text="ann@example.com")

    assert outcome.status == "passed", outcome.error
    assert await page.input_value("input") == "ann@example.com"
    assert outcome.input_value == "ann@example.com"
    assert outcome.description == "Type 'ann@example.com' into element 0 (text input 'email')"
    assert outcome.playwright_code == (
        'await page.locator("input[name=\\"email\\"]").fill("ann@example.com")'
    )


async def test_what_is_typed_into_a_password_input_is_never_recorded(page: Page, run: Run) -> None:
    await page.set_content("<input type='password' name='secret'>")

    outcome = await run(action="input_text", index=0, text="hunter2-S3cret")

    assert outcome.status == "passed", outcome.error
    assert await page.input_value("input") == "hunter2-S3cret"  # typed for real
    recorded = (outcome.input_value, outcome.description, outcome.playwright_code)
    assert not any("hunter2" in (text or "") for text in recorded)
    assert outcome.input_value == "********"
    assert outcome.description == "Type '********' into element 0 (password input 'secret')"


async def test_input_text_clicks_and_types_into_what_cannot_be_filled(page: Page, run: Run) -> None:
    await page.set_content(
        "<div role='textbox' tabindex='0' id='keys' style='height: 2em'"
        ' onkeydown="this.textContent += event.key"></div>'
    )

    outcome = await run(action="input_text", index=0, text="hey")

    assert outcome.status == "passed", outcome.error
    assert await page.text_content("#keys") == "hey"
    assert outcome.playwright_code == (
        'await page.locator("#keys").click()\nawait page.keyboard.type("hey")'
    )


async def test_hover(page: Page, run: Run) -> None:
    await page.set_content("<a href='#' onmouseover=\"document.title = 'hovered'\">Menu</a>")

    outcome = await run(action="hover", index=0)

    assert outcome.status == "passed", outcome.error
    assert await page.title() == "hovered"
    assert outcome.playwright_code == 'await page.locator("a").hover()'


SELECT = """
<label for="colour">Colour</label>
<select id="colour"><option value="r">Red</option><option value="g">Green</option></select>
<button>Not a select</button>
"""


async def test_select_option_by_text_and_by_value(page: Page, run: Run) -> None:
    await page.set_content(SELECT)

    by_text = await run(action="select_option", index=0, text="Green")
    assert await page.input_value("select") == "g"
    by_value = await run(action="select_option", selector="#colour", value="r")
    assert await page.input_value("select") == "r"

    assert by_text.status == by_value.status == "passed"
    assert by_text.description == "Select 'Green' in element 0 (select 'Colour')"
    assert by_text.playwright_code == 'await page.locator("#colour").select_option(label="Green")'
    assert by_value.playwright_code == 'await page.locator("#colour").select_option(value="r")'
    assert by_value.input_value == "r"


async def test_select_option_missing_option_lists_the_options(page: Page, run: Run) -> None:
    await page.set_content(SELECT)

    outcome = await run(action="select_option", index=0, text="Purple", timeout_ms=1000)

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith("Could not select 'Purple' in element 0 (select 'Colour'): ")
    assert outcome.error.endswith("its options are 'Red', 'Green'")


async def test_select_option_on_something_else_fails_at_once(page: Page, run: Run) -> None:
    await page.set_content(SELECT)

    outcome = await run(action="select_option", index=1, text="Red")

    assert outcome.error == (
        "Could not select 'Red' in element 1 (button 'Not a select'): it is not a <select> element"
    )
    assert outcome.element_html == "<button>Not a select</button>"


async def test_send_keys_presses_on_the_page_keyboard(page: Page, run: Run) -> None:
    await page.set_content("<input autofocus onkeydown=\"document.title += event.key + '|'\">")
    await page.focus("input")

    enter = await run(action="send_keys", keys="Enter")
    combo = await run(action="send_keys", keys="Control+A")

    assert [enter.status, combo.status] == ["passed", "passed"]
    assert await page.title() == "Enter|Control|A|"
    assert enter.playwright_code == 'await page.keyboard.press("Enter")'
    assert enter.description == "Press Enter"


async def test_send_keys_unknown_key_fails(page: Page, run: Run) -> None:
    outcome = await run(action="send_keys", keys="Hyperspace")

    assert outcome.error == 'Could not press Hyperspace: Unknown key: "Hyperspace"'


TALL = "<div style='height: 5000px'>Tall</div><button id='end'>End</button>"


async def test_scroll_down_and_up_by_amount_and_by_screen(page: Page, run: Run) -> None:
    await page.set_content(TALL)

    down = await run(action="scroll", direction="down", amount=700)
    assert await page.evaluate("window.scrollY") == 700
    up = await run(action="scroll", direction="up", amount="200")
    assert await page.evaluate("window.scrollY") == 500
    screen = await run(action="scroll", direction="down")
    assert await page.evaluate("window.scrollY") == 500 + await page.evaluate("innerHeight")

    assert [down.status, up.status, screen.status] == ["passed"] * 3
    assert down.description == "Scroll down 700 px"
    assert down.playwright_code == 'await page.evaluate("window.scrollBy(0, 700)")'
    assert up.playwright_code == 'await page.evaluate("window.scrollBy(0, -200)")'
    assert screen.description == "Scroll down one screen"


async def test_scroll_an_element_into_view(page: Page, run: Run) -> None:
    await page.set_content(TALL)

    outcome = await run(action="scroll", index=0)

    assert outcome.status == "passed", outcome.error
    assert outcome.description == "Scroll element 0 (button 'End') into view"
    assert await page.evaluate("window.scrollY") > 4000
