"""The delivery log of project webhooks: one row per event to tell, with its attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, desc, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, counter, created_at, one_of, updated_at, uuid_pk
from models.enums import DeliveryStatus, WebhookEvent


class WebhookDelivery(Base):
    """One event for a project's webhook: what is sent, and how its attempts went.

    The row is written in the transaction of the change it tells about, so nothing is told
    that did not happen and nothing that happened goes untold; the scheduler sends it,
    backing off between attempts (`next_attempt_at`) until it is delivered or given up.
    Its `id` is the delivery id the receiver sees.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
        CheckConstraint(one_of("event", WebhookEvent), name="event"),
        Index("idx_webhook_deliveries_project", "project_id", desc("created_at")),
        Index(
            "idx_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(
        String(20),
        default=DeliveryStatus.PENDING.value,
        server_default=DeliveryStatus.PENDING.value,
    )
    attempts: Mapped[int] = counter()
    status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
