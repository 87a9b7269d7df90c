"""A project's webhook: where a scheduled run's end is POSTed, and the key that signs it.

Revision ID: d4a7e0c3b512
Revises: 8c3e2d91a4f6
Create Date: 2026-11-21 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4a7e0c3b512"
down_revision: str | Sequence[str] | None = "8c3e2d91a4f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("webhook_url", sa.String(length=2000)))
    op.add_column("projects", sa.Column("webhook_secret", sa.String(length=255)))


def downgrade() -> None:
    op.drop_column("projects", "webhook_secret")
    op.drop_column("projects", "webhook_url")
