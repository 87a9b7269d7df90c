"""REST routes of the project's webhook and its delivery log (admins only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from models import tenancy as rows
from models.enums import DeliveryStatus, WebhookEvent
from resolvers import webhook_deliveries, webhooks
from resolvers.validation import PageInput
from resolvers.webhooks import WebhookInput
from server.rest.bodies import page_body, page_of
from server.rest.operations import AnyOperation, Call, NoBody, NoQuery, Operation, Reply

WEBHOOK = "/api/v1/webhook"
TAG = "Webhook"


class WebhookBody(BaseModel):
    """Where the project's events are POSTed; the secret is never shown."""

    url: str
    events: list[WebhookEvent]

    @classmethod
    def of(cls, project: rows.Project) -> WebhookBody:
        """The webhook of `project` (which has one)."""
        chosen = project.webhook_events or [event.value for event in WebhookEvent]
        return cls(url=project.webhook_url or "", events=[WebhookEvent(e) for e in chosen])


class ConfiguredWebhookBody(WebhookBody):
    """The webhook as set, and the secret made for it when none was given."""

    generated_secret: str | None = Field(
        description="The HMAC key made for it (when no `secret` was given): shown only now."
    )


class WebhookDeliveryBody(BaseModel):
    """One event sent (or being sent) to the webhook, with its attempts."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID = Field(description="Delivery id (the X-Testrun-Delivery header).")
    event: WebhookEvent
    status: DeliveryStatus
    attempts: int
    status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime


DeliveryPage = page_of(WebhookDeliveryBody)


async def get_webhook(call: Call[NoBody, NoQuery]) -> Reply:
    """The project's webhook; 404 when none is set."""
    async with call.reading() as session:
        project = await webhooks.read_webhook(session, principal=call.principal)
    return WebhookBody.of(project)


async def set_webhook(call: Call[WebhookInput, NoQuery]) -> Reply:
    """Set the webhook: run ends and schedule firings are POSTed to `url`, signed.

    The X-Testrun-Signature-256 header is `sha256=` and the HMAC-SHA256 of the body under
    `secret`; without `secret` one is made and answered only this once.
    """
    async with call.writing() as session:
        project, made = await webhooks.configure_webhook(
            session, principal=call.principal, data=call.body
        )
    return ConfiguredWebhookBody(**WebhookBody.of(project).model_dump(), generated_secret=made)


async def remove_webhook(call: Call[NoBody, NoQuery]) -> Reply:
    """Remove the webhook; deliveries not yet made are given up."""
    async with call.writing() as session:
        await webhooks.remove_webhook(session, principal=call.principal)
    return Response(status_code=204)


async def list_webhook_deliveries(call: Call[NoBody, PageInput]) -> Reply:
    """The webhook's deliveries, newest first: status code, attempts, last error."""
    async with call.reading() as session:
        found, total = await webhook_deliveries.read_webhook_deliveries(
            session, principal=call.principal, page=call.query
        )
    return page_body(WebhookDeliveryBody, found, total, call.query)


OPERATIONS: list[AnyOperation] = [
    Operation("GET", WEBHOOK, get_webhook, "Get the webhook", TAG, NoBody, NoQuery, WebhookBody,
              errors=(403, 404)),
    Operation("PUT", WEBHOOK, set_webhook, "Set the webhook", TAG, WebhookInput, NoQuery,
              ConfiguredWebhookBody, errors=(400, 403)),
    Operation("DELETE", WEBHOOK, remove_webhook, "Remove the webhook", TAG, NoBody, NoQuery,
              None, status=204, errors=(403, 404)),
    Operation("GET", WEBHOOK + "/deliveries", list_webhook_deliveries, "List webhook deliveries",
              TAG, NoBody, PageInput, DeliveryPage, errors=(400, 403)),
]  # fmt: skip
