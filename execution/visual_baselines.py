"""Where a result's visual checkpoints find their baselines, and which first one to store."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from execution import recording
from execution.artifact_storage import ArtifactNotFound, ArtifactStorage, LocalArtifactStorage
from execution.recording import NewBaseline, Sessions
from execution.steps.base import CheckpointOutcome, ScreenshotStore
from execution.steps.step import StepFailed
from resolvers.artifacts import artifact_path

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def screenshot_store(
    sessions: Sessions,
    test_case_id: uuid.UUID,
    artifacts: Path,
    folder: Path,
    storage: ArtifactStorage | None = None,
) -> ScreenshotStore:
    """The test case's baselines, and the result's `folder` for new images.

    Baselines are read from `artifacts`, or from `storage` once a worker uploaded them.
    """
    return ScreenshotStore(
        artifacts, folder, _lookup(sessions, test_case_id), artifact_fetcher(artifacts, storage)
    )


def artifact_fetcher(
    artifacts: Path, storage: ArtifactStorage | None = None
) -> Callable[[str, Path], Awaitable[None]]:
    """Copies a stored artifact to a local file: from `artifacts`, else from `storage`.

    A path that could leave the artifacts directory (`..`, a URL: a client may have
    written it into a checkpoint that was accepted) is refused like a missing file.
    """
    local = LocalArtifactStorage(artifacts)

    async def fetch(stored: str, destination: Path) -> None:
        path = artifact_path(stored)
        if path is None:
            raise FileNotFoundError(f"{stored!r} is not a stored artifact's path")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = local.file(path)
        except ArtifactNotFound:
            if storage is None:
                raise FileNotFoundError(f"No stored image at {path}") from None
        else:
            await asyncio.to_thread(shutil.copyfile, source, destination)
            return
        try:
            with destination.open("wb") as file:
                async for chunk in storage.read(path):
                    await asyncio.to_thread(file.write, chunk)
        except ArtifactNotFound:
            destination.unlink(missing_ok=True)
            raise FileNotFoundError(f"No stored image at {path}") from None
        except Exception as error:  # the storage is down: the step fails, saying so
            destination.unlink(missing_ok=True)
            raise OSError(f"the artifact storage did not give {path}: {error}") from error

    return fetch


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
