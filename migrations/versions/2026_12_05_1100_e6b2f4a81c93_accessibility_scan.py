"""The run setting that scans every page a result reaches for accessibility (axe-core).

Revision ID: e6b2f4a81c93
Revises: d4a7e0c3b512
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6b2f4a81c93"
down_revision: str | Sequence[str] | None = "d4a7e0c3b512"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "test_runs",
        sa.Column(
            "accessibility_scan", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("test_runs", "accessibility_scan")
