"""What a step handler gets and returns; the engine records the outcome."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from playwright.async_api import Page


@dataclass(frozen=True, slots=True)
class ScreenshotStore:
    """Where a visual checkpoint finds its baseline and writes its images.

    Paths it reports and stores are relative to `artifacts`, the artifacts root.
    """

    artifacts: Path
    folder: Path  # the result's folder, under `artifacts`
    # The stored baseline image of a name at a viewport (width, height), or None.
    baseline: Callable[[str, int, int], Awaitable[str | None]]
    # Copies a stored image (a path relative to `artifacts`) to a local file, wherever the
    # storage keeps it; OSError when it cannot be read. A result keeps its own copy of the
    # baseline it was compared with, so its three images are served and kept together.
    fetch: Callable[[str, Path], Awaitable[None]]


@dataclass(slots=True)
class StepContext:
    """The page a step acts on and the limits it acts within."""

    page: Page
    timeout_ms: int
    # Set when the run is stopped or cancelled: waits end early, the step reports it.
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # The tab to act on, asked each time: a tab that a click opened may appear only after
    # the click returned, while the next step is already looking for what it shows.
    newest_page: Callable[[], Page] | None = None
    # Baselines and image files of visual checkpoints; None where there are none (then
    # assert_screenshot_matches fails saying so).
    screenshots: ScreenshotStore | None = None


@dataclass(frozen=True, slots=True)
class CheckpointOutcome:
    """What an assertion verified, for `checkpoint_results`."""

    name: str
    checkpoint_type: str  # a models.enums.CheckpointType value
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any]
    selector: str | None = None
    profile: str = "functional"  # functional, visual, accessibility, full, custom
    # One entry per verified property: property_name, operator, expected_value,
    # actual_value, passed (test-run-api.md's `property_verifications`).
    property_verifications: list[dict[str, Any]] | None = None
    failed_properties: list[str] | None = None
    # Visual checkpoints: image paths relative to the artifacts root, and the pixel
    # difference to the baseline in percent.
    baseline_screenshot_path: str | None = None
    actual_screenshot_path: str | None = None
    diff_screenshot_path: str | None = None
    diff_percentage: float | None = None


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How a step ended; `error` says what was expected and what was found."""

    status: Literal["passed", "failed"]
    playwright_code: str
    description: str
    selector: str | None = None
    input_value: str | None = None
    error: str | None = None
    element_html: str | None = None
    checkpoint: CheckpointOutcome | None = None
    # An axe-core scan of the page (assert_accessible): one `accessibility_results` entry.
    accessibility: dict[str, Any] | None = None
    stopped: bool = False  # the run was stopped while this step waited
