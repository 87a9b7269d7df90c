"""Where a result's visual checkpoints find their baselines, and which first one to store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from execution import recording
from execution.recording import NewBaseline, Sessions
from execution.steps.base import CheckpointOutcome, ScreenshotStore
from execution.steps.step import StepFailed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def screenshot_store(
    sessions: Sessions, test_case_id: uuid.UUID, artifacts: Path, folder: Path
) -> ScreenshotStore:
    """The test case's baselines, and the result's `folder` for new images."""
    return ScreenshotStore(artifacts, folder, _lookup(sessions, test_case_id))


def _lookup(
    sessions: Sessions, test_case_id: uuid.UUID
) -> Callable[[str, int, int], Awaitable[str | None]]:
    async def baseline_of(name: str, width: int, height: int) -> str | None:
        # A database that cannot say fails the step, not the run.
        try:
            return await recording.read_baseline(sessions, test_case_id, name, width, height)
        except Exception as error:
            raise StepFailed(
                f"Could not read the baseline of '{name}': {recording.reason(error)}"
            ) from error

    return baseline_of


def new_baseline(checkpoint: CheckpointOutcome | None) -> NewBaseline | None:
    """The first baseline a visual checkpoint made, to store with it."""
    if checkpoint is None or not checkpoint.actual.get("baseline_created"):
        return None
    viewport = checkpoint.expected["viewport"]
    assert checkpoint.actual_screenshot_path is not None  # set with baseline_created
    return NewBaseline(
        name=checkpoint.expected["name"],
        width=viewport["width"],
        height=viewport["height"],
        image_path=checkpoint.actual_screenshot_path,
    )
