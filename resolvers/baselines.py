"""Visual baselines: the image each screenshot checkpoint of a test case is compared with.

The engine stores a name's first image (`save_baseline`); an editor accepts a later
checkpoint's actual image (`accept_screenshot_baseline`). Both write through `save_baseline`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.baselines import ScreenshotBaseline
from models.enums import CheckpointType
from models.results import CheckpointResult, TestRunResult
from models.runs import TestRun
from resolvers.access import require_writer
from resolvers.artifacts import artifact_path, in_folder_of
from resolvers.errors import InvalidState, NotFound
from resolvers.fitting import fit_row
from resolvers.tokens import Principal

_KEY = ("test_case_id", "name", "viewport_width", "viewport_height")


async def read_baseline_path(
    session: AsyncSession, *, test_case_id: uuid.UUID, name: str, width: int, height: int
) -> str | None:
    """The artifact path of the baseline of `name` at width x height, or None."""
    return await session.scalar(
        select(ScreenshotBaseline.image_path).where(
            ScreenshotBaseline.test_case_id == test_case_id,
            ScreenshotBaseline.name == fit_row(ScreenshotBaseline, {"name": name})["name"],
            ScreenshotBaseline.viewport_width == width,
            ScreenshotBaseline.viewport_height == height,
        )
    )


async def save_baseline(
    session: AsyncSession,
    *,
    test_case_id: uuid.UUID,
    name: str,
    width: int,
    height: int,
    image_path: str,
    checkpoint_id: uuid.UUID | None,
    accepted_by: uuid.UUID | None = None,
    replace: bool = True,
) -> ScreenshotBaseline:
    """Make `image_path` the baseline of `name` at width x height; the baseline row.

    With `replace=False` an existing baseline stays (two results racing to store the
    first image of a name: the first one wins).
    """
    now = datetime.now(UTC)
    values: dict[str, Any] = fit_row(
        ScreenshotBaseline,
        {
            "id": uuid.uuid4(),
            "test_case_id": test_case_id,
            "name": name,
            "viewport_width": width,
            "viewport_height": height,
            "image_path": image_path,
            "checkpoint_result_id": checkpoint_id,
            "accepted_by": accepted_by,
            "created_at": now,
            "updated_at": now,
        },
    )
    statement = insert(ScreenshotBaseline).values(values)
    changed = {
        name: values[name]
        for name in ("image_path", "checkpoint_result_id", "accepted_by", "updated_at")
    }
    statement = (
        statement.on_conflict_do_update(index_elements=list(_KEY), set_=changed)
        if replace
        else statement.on_conflict_do_nothing(index_elements=list(_KEY))
    )
    await session.execute(statement)
    row = await session.scalar(
        select(ScreenshotBaseline)
        .where(*(getattr(ScreenshotBaseline, key) == values[key] for key in _KEY))
        .execution_options(populate_existing=True)
    )
    assert row is not None  # inserted or kept just now, in this transaction
    return row


async def accept_screenshot_baseline(
    session: AsyncSession, *, principal: Principal, checkpoint_id: uuid.UUID
) -> ScreenshotBaseline:
    """Make a screenshot checkpoint's actual image the baseline its test case compares with.

    NotFound for a checkpoint outside the caller's project; InvalidState for a checkpoint
    that is not a screenshot with an actual image (it has nothing to accept), or whose
    image lies outside its result's folder (a path a client wrote: the engine would copy
    that file into every later result of the test case).
    """
    require_writer(principal)
    found = (
        await session.execute(
            select(CheckpointResult, TestRunResult.test_case_id)
            .join(TestRunResult, TestRunResult.id == CheckpointResult.test_run_result_id)
            .join(TestRun, TestRun.id == TestRunResult.test_run_id)
            .where(CheckpointResult.id == checkpoint_id, TestRun.project_id == principal.project_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound.of("Checkpoint result", checkpoint_id)
    checkpoint, test_case_id = found
    expected = checkpoint.expected_properties or {}
    viewport = expected.get("viewport") if isinstance(expected, dict) else None
    if (
        checkpoint.checkpoint_type != CheckpointType.SCREENSHOT
        or not checkpoint.actual_screenshot_path
        or not isinstance(expected.get("name"), str)
        or not isinstance(viewport, dict)
    ):
        raise InvalidState(
            f"Cannot accept checkpoint {checkpoint_id} as a baseline: it is a "
            f"'{checkpoint.checkpoint_type}' checkpoint without a screenshot name, viewport "
            "and actual image"
        )
    image = artifact_path(checkpoint.actual_screenshot_path)
    if image is None or not in_folder_of(image, checkpoint.test_run_result_id):
        raise InvalidState(
            f"Cannot accept checkpoint {checkpoint_id} as a baseline: its actual image "
            f"{checkpoint.actual_screenshot_path!r} is not a file of its own result"
        )
    return await save_baseline(
        session,
        test_case_id=test_case_id,
        name=expected["name"],
        width=int(viewport["width"]),
        height=int(viewport["height"]),
        image_path=checkpoint.actual_screenshot_path,
        checkpoint_id=checkpoint.id,
        accepted_by=principal.user_id,
    )
