"""GraphQL types and root fields of the project's webhook and its delivery log (admins only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from models import enums
from models import tenancy as rows
from models import webhooks as delivery_rows
from resolvers import webhook_deliveries, webhooks
from resolvers.validation import PageInput, parse
from schema.context import Info
from schema.enums import DeliveryStatus, WebhookEvent
from schema.scalars import JSON


@strawberry.type(description="Where the project's events are POSTed; the secret is write-only.")
class Webhook:
    """GraphQL view of a project's webhook."""

    url: str = strawberry.field(description="The receiver's URL.")
    events: list[enums.WebhookEvent] = strawberry.field(description="The events it is sent.")

    @classmethod
    def from_model(cls, row: rows.Project) -> Webhook:
        """Build from the project row (whose webhook is set)."""
        chosen = row.webhook_events or [event.value for event in enums.WebhookEvent]
        return cls(url=row.webhook_url or "", events=[WebhookEvent(event) for event in chosen])


@strawberry.type(description="setWebhook's answer.")
class ConfiguredWebhook:
    """The webhook as set, and the secret made for it when none was given."""

    webhook: Webhook = strawberry.field(description="The webhook as it now is.")
    generated_secret: str | None = strawberry.field(
        description="The HMAC key made for it (when no `secret` was given): shown only now."
    )


@strawberry.type(description="One event sent (or being sent) to the webhook, with its attempts.")
class WebhookDelivery:
    """GraphQL view of a webhook delivery."""

    id: uuid.UUID = strawberry.field(description="Delivery id (the X-Testrun-Delivery header).")
    event: enums.WebhookEvent = strawberry.field(description="What it tells about.")
    status: enums.DeliveryStatus = strawberry.field(description="Where it is.")
    attempts: int = strawberry.field(description="POSTs made so far.")
    status_code: int | None = strawberry.field(description="The last answer's HTTP status.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    payload: JSON = strawberry.field(description="What the body carries besides its envelope.")
    next_attempt_at: datetime = strawberry.field(description="When it is (or was) next tried.")
    delivered_at: datetime | None = strawberry.field(description="When the receiver took it.")
    created_at: datetime = strawberry.field(description="When it was queued.")

    @classmethod
    def from_model(cls, row: delivery_rows.WebhookDelivery) -> WebhookDelivery:
        """Build from the ORM row."""
        payload: Any = row.payload
        return cls(
            id=row.id,
            event=WebhookEvent(row.event),
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            status_code=row.status_code,
            last_error=row.last_error,
            payload=payload,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@strawberry.type(description="One page of webhook deliveries.")
class WebhookDeliveryPage:
    """A page of deliveries with the total count."""

    items: list[WebhookDelivery] = strawberry.field(description="The deliveries of this page.")
    total: int = strawberry.field(description="How many there are in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.type
class WebhookQuery:
    """Webhook fields of the Query root."""

    @strawberry.field(description="The project's webhook (admins only); NOT_FOUND when unset.")
    async def webhook(self, info: Info) -> Webhook:
        """Read the webhook."""
        async with info.context.session() as session:
            project = await webhooks.read_webhook(session, principal=info.context.principal)
        return Webhook.from_model(project)

    @strawberry.field(description="The webhook's deliveries, newest first (admins only).")
    async def webhook_deliveries(
        self, info: Info, limit: int = 20, offset: int = 0
    ) -> WebhookDeliveryPage:
        """List deliveries."""
        page = parse(PageInput, {"limit": limit, "offset": offset})
        async with info.context.session() as session:
            found, total = await webhook_deliveries.read_webhook_deliveries(
                session, principal=info.context.principal, page=page
            )
        return WebhookDeliveryPage(
            items=[WebhookDelivery.from_model(row) for row in found],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )


@strawberry.type
class WebhookMutation:
    """Webhook fields of the Mutation root."""

    @strawberry.mutation(
        description="Set the project's webhook (admins only): every run that ends and every "
        "schedule firing is POSTed to `url`, signed with HMAC-SHA256 of `secret` in the "
        "X-Testrun-Signature-256 header. Without `secret` one is made and returned once."
    )
    async def set_webhook(
        self,
        info: Info,
        url: str,
        events: list[enums.WebhookEvent] | None = None,
        secret: str | None = None,
    ) -> ConfiguredWebhook:
        """Set the webhook."""
        data = parse(webhooks.WebhookInput, {"url": url, "events": events, "secret": secret})
        async with info.context.transaction() as session:
            project, made = await webhooks.configure_webhook(
                session, principal=info.context.principal, data=data
            )
        return ConfiguredWebhook(webhook=Webhook.from_model(project), generated_secret=made)

    @strawberry.mutation(
        description="Remove the project's webhook (admins only); deliveries not yet made are "
        "given up."
    )
    async def remove_webhook(self, info: Info) -> Webhook:
        """Remove the webhook; answers it as it was."""
        async with info.context.transaction() as session:
            project = await webhooks.read_webhook(session, principal=info.context.principal)
            removed = Webhook.from_model(project)
            await webhooks.remove_webhook(session, principal=info.context.principal)
        return removed
