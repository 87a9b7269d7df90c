"""A project's webhook: where its events are POSTed, which ones, and the key that signs them."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import WebhookEvent
from models.tenancy import Project
from resolvers.access import require_admin
from resolvers.errors import NotFound, ValidationFailed
from resolvers.tenancy import read_project
from resolvers.tokens import Principal
from resolvers.validation import Input

MAX_URL_LENGTH = 2000


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Must be an http:// or https:// URL with a host")
    return url


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_URL_LENGTH),
    AfterValidator(_http_url),
]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=255)]


class WebhookInput(Input):
    """A project's webhook: its URL, the events it wants (all when left out), its secret.

    Without `secret`, a new random one is made and returned once.
    """

    url: WebhookUrl
    events: Annotated[list[WebhookEvent], Field(min_length=1)] | None = None
    secret: Secret | None = None


def _checked(url: str) -> str:
    try:
        checked = _http_url(url.strip())
    except ValueError as error:
        raise ValidationFailed.of("url", str(error)) from None
    if len(checked) > MAX_URL_LENGTH:
        raise ValidationFailed.of("url", f"Must be at most {MAX_URL_LENGTH} characters")
    return checked


async def set_project_webhook(
    session: AsyncSession, *, project_id: uuid.UUID, url: str | None
) -> str | None:
    """Point the project's webhook at `url` (every event) with a new signing secret, returned once.

    `None` removes the webhook (and its secret). Setting it again replaces the secret, so a
    leaked one is revoked by setting the URL anew. (What `testrun project webhook` does.)
    """
    project = await read_project(session, project_id=project_id)
    if url is None:
        project.webhook_url = project.webhook_secret = None
        project.webhook_events = None
    else:
        project.webhook_url = _checked(url)
        project.webhook_secret = secrets.token_hex(32)
        project.webhook_events = None
    await session.flush()
    return project.webhook_secret


async def configure_webhook(
    session: AsyncSession, *, principal: Principal, data: WebhookInput
) -> tuple[Project, str | None]:
    """Set the caller's project's webhook (admins only); the secret made for it, if one was."""
    require_admin(principal)
    project = await read_project(session, project_id=principal.project_id)
    made = None if data.secret is not None else secrets.token_hex(32)
    project.webhook_url = data.url
    project.webhook_secret = data.secret or made
    project.webhook_events = None if data.events is None else [e.value for e in data.events]
    await session.flush()
    return project, made


async def read_webhook(session: AsyncSession, *, principal: Principal) -> Project:
    """The caller's project, whose webhook is set (admins only); NotFound when it is not."""
    require_admin(principal)
    project = await read_project(session, project_id=principal.project_id)
    if project.webhook_url is None:
        raise NotFound.of("Webhook of project", principal.project_id)
    return project


async def remove_webhook(session: AsyncSession, *, principal: Principal) -> Project:
    """Remove the project's webhook (admins only); pending deliveries are then given up."""
    project = await read_webhook(session, principal=principal)
    project.webhook_url = project.webhook_secret = None
    project.webhook_events = None
    await session.flush()
    return project
