"""Run priority: higher is served first when items wait for a slot; schedules give it to their runs.

Revision ID: a7c91e3f5d20
Revises: a91c5e7f3b20
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c91e3f5d20"
down_revision: str | Sequence[str] | None = "a91c5e7f3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("test_runs", "schedules")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(
            table, sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        op.create_check_constraint("priority", table, "priority BETWEEN -1000 AND 1000")


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_constraint("priority", table, type_="check")
        op.drop_column(table, "priority")
