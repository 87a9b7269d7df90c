"""assert_screenshot_matches on its own: arguments, element screenshots, sizes, lost files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.async_api import Page

from execution.steps import StepContext, StepOutcome, execute_step
from execution.steps.base import ScreenshotStore
from execution.visual_baselines import artifact_fetcher
from tests.execution.steps.conftest import Run

BOX = (
    "<!doctype html><body style='margin:0'>"
    "<div id='box' style='width:{}px;height:40px;background:#1e6bd6'></div>"
)


class Baselines:
    """Baselines in a dict, as the engine's table would hold them."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str, int, int], str] = {}

    async def find(self, name: str, width: int, height: int) -> str | None:
        return self.paths.get((name, width, height))


async def _check(page: Page, tmp_path: Path, baselines: Baselines, **arguments: Any) -> StepOutcome:
    store = ScreenshotStore(
        tmp_path, tmp_path / "result", baselines.find, artifact_fetcher(tmp_path)
    )
    context = StepContext(page=page, timeout_ms=5000, stop=asyncio.Event(), screenshots=store)
    return await execute_step(context, {"action": "assert_screenshot_matches", **arguments})


async def test_an_element_screenshot_of_another_size_differs_entirely(
    page: Page, tmp_path: Path
) -> None:
    baselines = Baselines()
    await page.set_content(BOX.format(100))
    first = await _check(page, tmp_path, baselines, name="Box", selector="#box")
    assert first.checkpoint is not None
    assert first.checkpoint.actual == {"baseline_created": True}
    assert first.playwright_code.startswith(
        'await page.locator("#box").screenshot(path="Box.png", animations="disabled"'
    )
    baselines.paths["Box", 1280, 720] = str(first.checkpoint.actual_screenshot_path)
    await page.set_content(BOX.format(120))

    outcome = await _check(page, tmp_path, baselines, name="Box", selector="#box")

    assert outcome.status == "failed"
    assert outcome.error == (
        "The screenshot 'Box' differs from its baseline by 100% of its pixels "
        "(its size changed), more than the 0.1% allowed"
    )
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.diff_percentage == 100.0
    assert outcome.checkpoint.selector == "#box"


async def test_a_generous_threshold_passes_a_small_change(page: Page, tmp_path: Path) -> None:
    baselines = Baselines()
    await page.set_content(BOX.format(100))
    first = await _check(page, tmp_path, baselines, name="Box")
    assert first.checkpoint is not None
    baselines.paths["Box", 1280, 720] = str(first.checkpoint.actual_screenshot_path)
    await page.set_content(BOX.format(140))

    strict = await _check(page, tmp_path, baselines, name="Box")
    generous = await _check(page, tmp_path, baselines, name="Box", threshold=0.01)

    assert strict.status == "failed"
    assert generous.status == "passed", generous.error
    assert generous.checkpoint is not None
    assert generous.checkpoint.diff_percentage == 0.17  # 40 x 40 of 1280 x 720


async def test_a_lost_baseline_file_fails_saying_so(page: Page, tmp_path: Path) -> None:
    baselines = Baselines()
    baselines.paths["Box", 1280, 720] = "gone/baseline.png"
    await page.set_content(BOX.format(100))

    outcome = await _check(page, tmp_path, baselines, name="Box")

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith("The baseline image of 'Box' cannot be read:")


async def test_wrong_arguments_fail_naming_the_field(page: Page, tmp_path: Path, run: Run) -> None:
    await page.set_content(BOX.format(100))
    cases = {
        "assert_screenshot_matches needs `name`": {},
        "`threshold` is the share of pixels that may differ, from 0 to 1": {
            "name": "Box",
            "threshold": 5,
        },
        "`mask` must be a selector or a list of selectors": {"name": "Box", "mask": [1]},
    }
    for message, arguments in cases.items():
        outcome = await _check(page, tmp_path, Baselines(), **arguments)

        assert outcome.status == "failed"
        assert outcome.error is not None
        assert outcome.error.startswith(message), outcome.error

    without_store = await run(action="assert_screenshot_matches", name="Box")
    assert without_store.error == (
        "assert_screenshot_matches needs a place for baselines: none was given"
    )


async def test_the_result_keeps_a_copy_of_its_baseline_and_none_from_outside(
    page: Page, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    baselines = Baselines()
    await page.set_content(BOX.format(100))
    first = await _check(page, artifacts, baselines, name="Box")
    assert first.checkpoint is not None
    original = str(first.checkpoint.actual_screenshot_path)
    baselines.paths["Box", 1280, 720] = original

    compared = await _check(page, artifacts, baselines, name="Box")

    assert compared.status == "passed", compared.error
    assert compared.checkpoint is not None
    copy = str(compared.checkpoint.baseline_screenshot_path)
    assert copy.startswith("result/visual/Box-") and copy.endswith("-baseline.png")
    assert (artifacts / copy).read_bytes() == (artifacts / original).read_bytes()

    # A path a client wrote into an accepted checkpoint never copies a file from outside.
    secret = tmp_path / "secret.png"
    secret.write_bytes((artifacts / original).read_bytes())
    (artifacts / "link.png").symlink_to(secret)
    for stored, reason in (
        ("../secret.png", "'../secret.png' is not a stored artifact's path"),
        ("link.png", "No stored image at link.png"),
    ):
        baselines.paths["Box", 1280, 720] = stored

        outcome = await _check(page, artifacts, baselines, name="Box")

        assert outcome.status == "failed"
        assert outcome.error == f"The baseline image of 'Box' cannot be read: {reason}"
    assert len(list(artifacts.rglob("*-baseline.png"))) == 1


async def test_each_viewport_has_its_own_baseline(page: Page, tmp_path: Path) -> None:
    baselines = Baselines()
    await page.set_content(BOX.format(100))
    wide = await _check(page, tmp_path, baselines, name="Box")
    assert wide.checkpoint is not None
    baselines.paths["Box", 1280, 720] = str(wide.checkpoint.actual_screenshot_path)
    await page.set_viewport_size({"width": 800, "height": 600})

    narrow = await _check(page, tmp_path, baselines, name="Box")

    assert narrow.status == "passed", narrow.error
    assert narrow.checkpoint is not None
    assert narrow.checkpoint.actual == {"baseline_created": True}
    assert narrow.checkpoint.expected["viewport"] == {"width": 800, "height": 600}


async def test_the_element_is_found_by_index_or_fingerprint(page: Page, tmp_path: Path) -> None:
    baselines = Baselines()
    await page.set_content(
        "<!doctype html><body style='margin:0'><p>Plain text</p>"
        "<button id='buy' style='width:100px;height:40px'>Buy</button>"
    )
    by_index = await _check(page, tmp_path, baselines, name="Buy", index=0)
    assert by_index.checkpoint is not None
    assert by_index.checkpoint.selector == "#buy"
    baselines.paths["Buy", 1280, 720] = str(by_index.checkpoint.actual_screenshot_path)

    by_text = await _check(page, tmp_path, baselines, name="Buy", text="Buy", index=7)

    assert by_text.status == "passed", by_text.error
    assert by_text.checkpoint is not None
    # The fingerprint is tried first; the stale index (7) is only the fallback.
    assert by_text.checkpoint.selector == 'text="Buy"'
    assert by_text.checkpoint.diff_percentage == 0
    with Image.open(tmp_path / str(by_text.checkpoint.actual_screenshot_path)) as shot:
        assert shot.size == (100, 40)
