"""Sending queued webhook deliveries: signed POSTs, each attempt logged, backing off between.

The scheduler runs `send_due_webhooks` as one of its jobs. A delivery's body is made from
its stored payload the same way each time, so a retry sends the very same bytes, delivery
id and signature (the project's secret stays in PostgreSQL). A server error, a timeout or
a refused connection is tried again after 1 s, 2 s, 4 s ... up to 5 minutes, at most
`MAX_ATTEMPTS` times; any other 4xx means the receiver refuses it and it is given up.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from resolvers.webhook_deliveries import Attempt, DueDelivery, claim_due_deliveries, record_attempt

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Testrun-Signature-256"
EVENT_HEADER = "X-Testrun-Event"
DELIVERY_HEADER = "X-Testrun-Delivery"
MAX_ATTEMPTS = 10
MIN_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(minutes=5)
WEBHOOK_TIMEOUT_S = 10.0
# A claimed delivery whose sender died is due again after this long.
CLAIM_LEASE = timedelta(seconds=WEBHOOK_TIMEOUT_S * 3)
BATCH = 20
# Statuses worth another try; any other 4xx means the request itself is refused.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(delivery: DueDelivery, *, base_url: str) -> bytes:
    """The JSON the receiver gets: event, delivery id, project, then the event's payload.

    A run in the payload gets its `url` in the REST API.
    """
    payload: dict[str, Any] = dict(delivery.payload)
    run = payload.get("test_run")
    if isinstance(run, dict) and "id" in run:
        payload["test_run"] = {**run, "url": f"{base_url}/api/v1/test-runs/{run['id']}"}
    document = {
        "event": delivery.event.value,
        "delivery_id": str(delivery.id),
        "project_id": str(delivery.project_id),
        **payload,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def backoff_after(attempt: int, *, first: timedelta = MIN_BACKOFF) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1, 2, 4 ... times `first`)."""
    wait: timedelta = first * (2 ** (attempt - 1))
    return min(wait, MAX_BACKOFF)


async def post_delivery(
    client: httpx.AsyncClient, delivery: DueDelivery, *, base_url: str
) -> Attempt:
    """POST one delivery; how it went."""
    body = webhook_body(delivery, base_url=base_url)
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event.value,
        DELIVERY_HEADER: str(delivery.id),
        SIGNATURE_HEADER: sign(delivery.secret, body),
    }
    try:
        response = await client.post(delivery.url, content=body, headers=headers)
    except httpx.TransportError as error:
        return Attempt(delivered=False, error=f"{type(error).__name__}: {error}", retry=True)
    if response.is_success:
        return Attempt(delivered=True, status_code=response.status_code)
    code = response.status_code
    return Attempt(
        delivered=False,
        status_code=code,
        error=f"{delivery.url} answered {code}",
        retry=code >= 500 or code in RETRYABLE_STATUSES,
    )


async def send_due_webhooks(
    sessions: async_sessionmaker[AsyncSession],
    *,
    base_url: str,
    first_backoff: timedelta = MIN_BACKOFF,
    max_attempts: int = MAX_ATTEMPTS,
    batch: int = BATCH,
) -> int:
    """Send the deliveries that are due now, log how each went; how many were tried."""
    async with transaction(sessions) as session:
        due = await claim_due_deliveries(
            session, now=datetime.now(UTC), limit=batch, lease=CLAIM_LEASE
        )
    if not due:
        return 0
    base = base_url.rstrip("/")
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as client:
        attempts = await asyncio.gather(
            *(post_delivery(client, delivery, base_url=base) for delivery in due)
        )
    async with transaction(sessions) as session:
        for delivery, attempt in zip(due, attempts, strict=True):
            more = delivery.attempt < max_attempts
            await record_attempt(
                session,
                delivery_id=delivery.id,
                attempt=attempt,
                now=datetime.now(UTC),
                backoff=backoff_after(delivery.attempt, first=first_backoff) if more else None,
            )
    for delivery, attempt in zip(due, attempts, strict=True):
        if attempt.delivered:
            logger.info("webhook %s (%s) delivered", delivery.id, delivery.event.value)
        else:
            logger.warning(
                "webhook %s attempt %d failed: %s", delivery.id, delivery.attempt, attempt.error
            )
    return len(due)
