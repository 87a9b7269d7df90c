"""Run settings for execution artifacts and pacing; where a result's video and trace are.

Revision ID: 8c3e2d91a4f6
Revises: 5b1f0c2a9d47
Create Date: 2026-11-21 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c3e2d91a4f6"
down_revision: str | Sequence[str] | None = "5b1f0c2a9d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLAGS = ("screenshot_every_step", "record_video", "keep_trace_on_failure")


def upgrade() -> None:
    for name in _FLAGS:
        op.add_column(
            "test_runs",
            sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False),
        )
    op.add_column(
        "test_runs",
        sa.Column("step_delay_ms", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint("step_delay_ms", "test_runs", "step_delay_ms BETWEEN 0 AND 60000")
    op.add_column("test_run_results", sa.Column("video_path", sa.String(length=500)))
    op.add_column("test_run_results", sa.Column("trace_path", sa.String(length=500)))


def downgrade() -> None:
    op.drop_column("test_run_results", "trace_path")
    op.drop_column("test_run_results", "video_path")
    op.drop_constraint("step_delay_ms", "test_runs", type_="check")
    op.drop_column("test_runs", "step_delay_ms")
    for name in reversed(_FLAGS):
        op.drop_column("test_runs", name)
