"""The element index rule, on the example page and on pages that change."""

from __future__ import annotations

import re

from playwright.async_api import Page

from execution.steps import indexed_elements
from execution.steps.element_index import ATTRIBUTE
from tests.execution.steps.conftest import EXAMPLE_PAGE, Run


def documented_indices() -> list[str]:
    """The numbering the example page's comment documents: `  3  button 'Log in'  ...`."""
    comment = EXAMPLE_PAGE.read_text(encoding="utf-8").split("-->")[0]
    rows = re.findall(r"^\s+(\d+)\s+(.+?)\s{2,}", comment, re.MULTILINE)
    assert [int(index) for index, _ in rows] == list(range(len(rows)))
    return [description for _, description in rows]


async def test_example_page_is_numbered_as_its_comment_documents(page: Page, site: str) -> None:
    await page.goto(f"{site}/example")

    found = [element.description for element in await indexed_elements(page)]

    assert found == documented_indices()
    assert len(found) == 15


async def test_every_index_resolves_to_a_selector_that_finds_it_again(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/example")
    elements = await indexed_elements(page)

    for element in elements:
        outcome = await run(action="hover", index=element.index)

        assert outcome.status == "passed", outcome.error
        assert outcome.selector
        assert ATTRIBUTE not in outcome.selector
        assert outcome.description == f"Hover over element {element.index} ({element.description})"
        again = page.locator(outcome.selector)
        assert await again.count() == 1
        assert await again.evaluate("(e) => e.localName") == element.tag
    # The step's temporary marks are gone from the page and from the frame.
    assert await page.locator(f"[{ATTRIBUTE}]").count() == 0
    assert await page.frame_locator("iframe").locator(f"[{ATTRIBUTE}]").count() == 0


async def test_shadow_children_come_before_light_children_and_frames_are_descended(
    page: Page, site: str, run: Run
) -> None:
    await page.goto(f"{site}/example")

    shadow = await run(action="click_element", index=9)
    assert await page.title() == "Shadow"
    light = await run(action="click_element", index=10)
    assert await page.title() == "Light"
    framed = await run(action="click_element", index=13)
    assert await page.title() == "Frame"

    assert [shadow.status, light.status, framed.status] == ["passed"] * 3
    assert framed.selector == "iframe >> internal:control=enter-frame >> button"
    assert framed.playwright_code == (
        'await page.locator("iframe").content_frame.locator("button").click()'
    )


async def test_named_elements_get_id_or_name_selectors(page: Page, run: Run) -> None:
    await page.set_content(
        "<button id='go'>Go</button><input name='email'><form id='f'><b><button>A</button>"
        "<button>B</button></b></form>"
    )

    selectors = [(await run(action="hover", index=index)).selector for index in range(4)]

    # The shortest unique CSS path: the first of type in <b> is also the first in <body>.
    assert selectors == [
        "#go",
        'input[name="email"]',
        "b > button:nth-of-type(1)",
        "button:nth-of-type(2)",
    ]


async def test_out_of_range_index_names_the_real_count(page: Page, site: str, run: Run) -> None:
    await page.goto(f"{site}/example")

    outcome = await run(action="click_element", index=99, timeout_ms=300)

    assert outcome.status == "failed"
    assert outcome.error == (
        "Element index 99 is out of range: the page has 15 interactive elements"
    )
    assert outcome.selector is None


async def test_one_element_is_counted_in_the_singular(page: Page, run: Run) -> None:
    await page.set_content("<button>Only</button>")

    outcome = await run(action="click_element", index=1, timeout_ms=200)

    assert outcome.error == "Element index 1 is out of range: the page has 1 interactive element"


async def test_index_waits_for_an_element_that_appears(page: Page, run: Run) -> None:
    await page.set_content(
        "<script>setTimeout(() => document.body.insertAdjacentHTML('beforeend',"
        " '<button onclick=\"document.title = `late`\">Late</button>'), 300)</script>"
    )

    outcome = await run(action="click_element", index=0, timeout_ms=5000)

    assert outcome.status == "passed", outcome.error
    assert await page.title() == "late"


async def test_cross_origin_frames_are_not_descended(page: Page, site: str) -> None:
    cross_origin = site.replace("127.0.0.1", "localhost")
    await page.route(
        f"{site}/with-frame",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f"<button>Here</button><iframe src='{cross_origin}/frame'></iframe>"
            f"<iframe src='{site}/frame'></iframe>",
        ),
    )
    await page.goto(f"{site}/with-frame")

    assert [element.description for element in await indexed_elements(page)] == [
        "button 'Here'",
        "button 'Cross-origin button'",  # the same-origin copy of the page
    ]


async def test_visibility_rules_follow_the_page_as_it_changes(page: Page, run: Run) -> None:
    await page.set_content("<button id='a'>A</button><button id='b'>B</button>")
    await page.eval_on_selector("#a", "(a) => { a.style.opacity = '0' }")

    outcome = await run(action="click_element", index=0)

    assert outcome.selector == "#b"
