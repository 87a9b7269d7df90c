"""Visual checkpoints: a screenshot compared with the baseline of its name and viewport."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.assertions import checkpoint_name
from execution.steps.base import CheckpointOutcome
from execution.steps.elements import locate, names_element
from execution.steps.playwright_code import literal, locator_code, number_code
from execution.steps.step import StepFailed, StepRun, explain
from execution.visual_diff import compare_images

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Locator

SCREENSHOT_CHECKPOINT = "screenshot"
VISUAL_PROFILE = "visual"
# The share of pixels that may differ, as a ratio: 0.001 is 0.1 %.
DEFAULT_THRESHOLD = 0.001
# Masked elements are painted this colour in every screenshot, baseline and actual alike.
MASK_COLOR = "#FF00FF"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _masks(step: StepRun) -> list[str]:
    given = step.arguments.get("mask")
    if given is None:
        return []
    masks = [given] if isinstance(given, str) else given
    if not isinstance(masks, list) or not all(isinstance(m, str) and m.strip() for m in masks):
        raise StepFailed(f"`mask` must be a selector or a list of selectors, not {given!r}")
    return [mask.strip() for mask in masks]


def _threshold(step: StepRun) -> float:
    threshold = arguments.optional_number(step.arguments, "threshold")
    if threshold is None:
        return DEFAULT_THRESHOLD
    if threshold > 1:
        raise StepFailed(
            f"`threshold` is the share of pixels that may differ, from 0 to 1 "
            f"(0.001 is 0.1 %), not {number_code(threshold)}"
        )
    return threshold


async def assert_screenshot_matches(step: StepRun) -> None:
    """The page (or the step's element) looks like the baseline of `name` at this viewport.

    The first time a test case takes `name` at a viewport, its screenshot becomes the
    baseline and the checkpoint passes. Later, more than `threshold` of the pixels
    differing (anti-aliasing aside) fails the step; elements matching `mask` are painted
    over in both images. The result keeps a copy of the baseline it was compared with
    beside its actual and diff images.
    """
    name = arguments.text(step.arguments, "name").strip()
    threshold = _threshold(step)
    masks = _masks(step)
    store = step.context.screenshots
    if store is None:
        raise StepFailed("assert_screenshot_matches needs a place for baselines: none was given")
    viewport = step.page.viewport_size
    if viewport is None:
        raise StepFailed("The page has no fixed viewport to take a comparable screenshot of")
    title = checkpoint_name(step, f"Check that the screenshot '{name}' matches its baseline")
    target = await locate(step) if names_element(step.arguments) else None
    subject = "page" if target is None else locator_code(target.selector)
    step.playwright_code = _code(subject, name, masks, threshold)
    slug = _UNSAFE.sub("-", name).strip("-")[:80] or "screenshot"
    files = store.folder / "visual"
    actual = files / f"{slug}-{step.nonce[:8]}-actual.png"
    await _take(step, target.locator if target is not None else None, masks, actual)
    stored_actual = str(actual.relative_to(store.artifacts))
    expected: dict[str, Any] = {
        "name": name,
        "viewport": viewport,
        "threshold_percentage": round(threshold * 100, 4),
        "mask": masks,
    }
    baseline = await store.baseline(name, viewport["width"], viewport["height"])
    if baseline is None:
        step.checkpoint = CheckpointOutcome(
            name=title,
            checkpoint_type=SCREENSHOT_CHECKPOINT,
            passed=True,
            expected=expected,
            actual={"baseline_created": True},
            selector=step.selector,
            profile=VISUAL_PROFILE,
            baseline_screenshot_path=stored_actual,
            actual_screenshot_path=stored_actual,
            failed_properties=[],
        )
        return
    kept = files / f"{slug}-{step.nonce[:8]}-baseline.png"
    diff = files / f"{slug}-{step.nonce[:8]}-diff.png"
    try:
        await store.fetch(baseline, kept)
        found = await asyncio.to_thread(compare_images, actual, kept, diff)
    except OSError as error:
        raise StepFailed(f"The baseline image of '{name}' cannot be read: {error}") from None
    percentage = round(found.percentage, 2)
    passed = found.percentage <= threshold * 100
    step.checkpoint = CheckpointOutcome(
        name=title,
        checkpoint_type=SCREENSHOT_CHECKPOINT,
        passed=passed,
        expected=expected,
        actual={
            "baseline_created": False,
            "different_pixels": found.different_pixels,
            "total_pixels": found.total_pixels,
            "size_changed": found.size_changed,
        },
        selector=step.selector,
        profile=VISUAL_PROFILE,
        baseline_screenshot_path=str(kept.relative_to(store.artifacts)),
        actual_screenshot_path=stored_actual,
        diff_screenshot_path=str(diff.relative_to(store.artifacts)),
        diff_percentage=percentage,
        failed_properties=[] if passed else ["diff_percentage"],
    )
    if not passed:
        changed = " (its size changed)" if found.size_changed else ""
        raise StepFailed(
            f"The screenshot '{name}' differs from its baseline by {number_code(percentage)}% "
            f"of its pixels{changed}, more than the {number_code(round(threshold * 100, 4))}% "
            "allowed"
        )


async def _take(step: StepRun, element: Locator | None, masks: list[str], path: Path) -> None:
    covered = [step.page.locator(mask) for mask in masks]
    timeout = step.timeout_ms()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Page and Locator take the same options; the subject is one or the other.
    shoot = step.page.screenshot if element is None else element.screenshot
    try:
        await shoot(
            path=path,
            mask=covered,
            mask_color=MASK_COLOR,
            animations="disabled",
            caret="hide",
            timeout=timeout,
        )
    except Error as error:
        raise StepFailed(f"Could not take the screenshot: {explain(error, timeout)}") from None


def _code(subject: str, name: str, masks: list[str], threshold: float) -> str:
    slug = _UNSAFE.sub("-", name).strip("-")[:80] or "screenshot"
    options = [f"path={literal(slug + '.png')}"]
    if masks:
        options.append(f"mask=[{', '.join(locator_code(mask) for mask in masks)}]")
    options += ['animations="disabled"', 'caret="hide"']
    return (
        f"await {subject}.screenshot({', '.join(options)})\n"
        f"# compared with the baseline '{name}': at most "
        f"{number_code(round(threshold * 100, 4))}% of the pixels may differ"
    )
