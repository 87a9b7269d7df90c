"""Checkpoints beyond assertions: the accessibility scan run setting, and visual baselines.

Revision ID: e6b2f4a81c93
Revises: e7b2c4a91f30
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6b2f4a81c93"
down_revision: str | Sequence[str] | None = "e7b2c4a91f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "test_runs",
        sa.Column(
            "accessibility_scan", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_table(
        "screenshot_baselines",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_case_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("viewport_width", sa.Integer(), nullable=False),
        sa.Column("viewport_height", sa.Integer(), nullable=False),
        sa.Column("image_path", sa.String(length=500), nullable=False),
        sa.Column("checkpoint_result_id", sa.UUID(), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["test_case_id"],
            ["test_cases.id"],
            name=op.f("fk_screenshot_baselines_test_case_id_test_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_result_id"],
            ["checkpoint_results.id"],
            name=op.f("fk_screenshot_baselines_checkpoint_result_id_checkpoint_results"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name=op.f("fk_screenshot_baselines_accepted_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenshot_baselines")),
        sa.UniqueConstraint(
            "test_case_id",
            "name",
            "viewport_width",
            "viewport_height",
            name=op.f("uq_screenshot_baselines_test_case_id_name_viewport_width_viewport_height"),
        ),
    )


def downgrade() -> None:
    op.drop_table("screenshot_baselines")
    op.drop_column("test_runs", "accessibility_scan")
