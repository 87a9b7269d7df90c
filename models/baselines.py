"""Visual baselines: the accepted image of a named screenshot of a test case at a viewport."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, updated_at, uuid_pk


class ScreenshotBaseline(Base):
    """What `assert_screenshot_matches` compares with: one image per test case, name, viewport.

    The first run of a name makes its screenshot the baseline; accepting a later
    checkpoint makes that checkpoint's actual image the baseline. `image_path` is an
    artifact path (relative to the artifacts root), the image a checkpoint stored.
    """

    __tablename__ = "screenshot_baselines"
    __table_args__ = (
        UniqueConstraint("test_case_id", "name", "viewport_width", "viewport_height"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_cases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    viewport_width: Mapped[int]
    viewport_height: Mapped[int]
    image_path: Mapped[str] = mapped_column(String(500))
    # The checkpoint whose actual image this is; SET NULL: a baseline outlives its run.
    checkpoint_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("checkpoint_results.id", ondelete="SET NULL")
    )
    # Who accepted it; None for the image of a name's first run.
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
