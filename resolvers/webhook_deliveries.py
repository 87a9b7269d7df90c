"""The webhook outbox: deliveries queued with the change they tell about, their attempts logged.

A delivery is a row written in the transaction that ended a run or fired a schedule,
whoever did it (GraphQL, REST, a worker, the scheduler). The scheduler claims due rows,
POSTs them and records each attempt here: its status code or error, and when to try
again (doubling backoff) until it is delivered or given up.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import DeliveryStatus, WebhookEvent
from models.runs import TestRun
from models.tenancy import Project
from models.webhooks import WebhookDelivery
from resolvers.access import require_admin
from resolvers.pages import read_page
from resolvers.tokens import Principal
from resolvers.validation import PageInput

# Run events that end a run (see resolvers.run_feeds.FINAL_EVENT_TYPES).
RUN_ENDING_EVENTS = frozenset({"run.completed", "run.cancelled", "run.failed"})
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    id: uuid.UUID
    project_id: uuid.UUID
    event: WebhookEvent
    payload: dict[str, Any]
    attempt: int
    url: str
    secret: str


def wants(project: Project, event: WebhookEvent) -> bool:
    """Whether the project's webhook is set and listens to `event`."""
    if not project.webhook_url or not project.webhook_secret:
        return False
    return project.webhook_events is None or event.value in project.webhook_events


async def queue_webhook(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    event: WebhookEvent,
    payload: dict[str, Any],
    now: datetime,
) -> WebhookDelivery | None:
    """Queue `event` for the project's webhook in the caller's transaction (None: not wanted)."""
    project = await session.get(Project, project_id)
    if project is None or not wants(project, event):
        return None
    delivery = WebhookDelivery(
        project_id=project_id, event=event.value, payload=payload, next_attempt_at=now
    )
    session.add(delivery)
    await session.flush()
    return delivery


def run_summary(run: TestRun) -> dict[str, Any]:
    """A run as webhook bodies describe it."""
    return {
        "id": str(run.id),
        "run_name": run.run_name,
        "run_number": run.run_number,
        "status": run.status,
        "executor": run.executor,
        "schedule_id": None if run.schedule_id is None else str(run.schedule_id),
        "total_tests": run.total_tests,
        "passed_tests": run.passed_tests,
        "failed_tests": run.failed_tests,
        "skipped_tests": run.skipped_tests,
        "pass_rate": float(run.pass_rate),
        "duration_ms": run.duration_ms,
        "started_at": None if run.started_at is None else run.started_at.isoformat(),
        "completed_at": None if run.completed_at is None else run.completed_at.isoformat(),
    }


async def queue_run_ended(session: AsyncSession, *, run_id: uuid.UUID, now: datetime) -> None:
    """Queue `run.ended` for the run that just ended, as it stands in this transaction."""
    run = await session.scalar(
        select(TestRun).where(TestRun.id == run_id).execution_options(populate_existing=True)
    )
    if run is None:
        return
    await queue_webhook(
        session,
        project_id=run.project_id,
        event=WebhookEvent.RUN_ENDED,
        payload={"test_run": run_summary(run)},
        now=now,
    )


async def read_webhook_deliveries(
    session: AsyncSession, *, principal: Principal, page: PageInput
) -> tuple[Sequence[WebhookDelivery], int]:
    """The project's deliveries, newest first (admins only)."""
    require_admin(principal)
    statement = select(WebhookDelivery).where(WebhookDelivery.project_id == principal.project_id)
    return await read_page(
        session, statement, page, WebhookDelivery.created_at.desc(), WebhookDelivery.id
    )


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
) -> list[DueDelivery]:
    """Claim up to `limit` due deliveries, each counting one more attempt.

    A claimed delivery is not due again for `lease`, so a sender that dies mid-attempt
    leaves it to be tried again, not lost. A delivery whose project has no webhook any
    more is given up.
    """
    rows = (
        await session.execute(
            select(WebhookDelivery, Project)
            .join(Project, Project.id == WebhookDelivery.project_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    claimed = []
    for delivery, project in rows:
        if not project.webhook_url or not project.webhook_secret:
            delivery.status = DeliveryStatus.FAILED.value
            delivery.last_error = "The project's webhook was removed"
            continue
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        claimed.append(
            DueDelivery(
                id=delivery.id,
                project_id=delivery.project_id,
                event=WebhookEvent(delivery.event),
                payload=delivery.payload,
                attempt=delivery.attempts,
                url=project.webhook_url,
                secret=project.webhook_secret,
            )
        )
    await session.flush()
    return claimed


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went: delivered, or the error and whether another try may help."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retry: bool = False


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    attempt: Attempt,
    now: datetime,
    backoff: timedelta | None,
) -> None:
    """Log an attempt; a failure is tried again after `backoff`, or given up when None."""
    values: dict[str, Any] = {
        "status_code": attempt.status_code,
        "last_error": None if attempt.error is None else attempt.error[:MAX_ERROR_LENGTH],
        "updated_at": now,
    }
    if attempt.delivered:
        values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
    elif attempt.retry and backoff is not None:
        values |= {"next_attempt_at": now + backoff}
    else:
        values |= {"status": DeliveryStatus.FAILED.value}
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(values)
    )
