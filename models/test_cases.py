"""What runs replay: test cases with their proven steps, and the scripts attached to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, counter, created_at, flag, one_of, updated_at, uuid_pk
from models.enums import ScriptLanguage, ScriptType


class TestCase(Base):
    """A recorded browser test: the proven steps a run replays, optionally once per data row.

    Script references are id arrays rather than join tables because a test case lists its
    scripts in order and the engine reads them all at once. Deleting sets `deleted_at`, so
    results and history keep pointing at a test case that still exists.
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_cases"
    __table_args__ = (Index("idx_test_cases_project", "project_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # SET NULL: a test case outlives the account of the person who recorded it.
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    suite_path: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    suite_name: Mapped[str | None] = mapped_column(String(255))
    proven_steps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    data_rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    pre_script_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    post_script_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    on_demand_script_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class TestScript(Base):
    """A script run before, after, or at a given step of a test case, in the sandbox.

    A critical script that fails aborts the test case (`pre_script_aborted` on the result).
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_scripts"
    __table_args__ = (
        CheckConstraint(one_of("script_type", ScriptType), name="script_type"),
        CheckConstraint(one_of("language", ScriptLanguage), name="language"),
        CheckConstraint("timeout_seconds > 0", name="timeout_seconds"),
        Index("idx_test_scripts_project", "project_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    script_type: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(Text)
    is_critical: Mapped[bool] = flag(False)
    timeout_seconds: Mapped[int] = counter(60)
    attached_to_step: Mapped[int | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
