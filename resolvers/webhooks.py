"""A project's webhook: the URL a scheduled run's end is POSTed to and the key that signs it."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.errors import ValidationFailed
from resolvers.tenancy import read_project

MAX_URL_LENGTH = 2000


def _checked(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.of("url", "Must be an http:// or https:// URL with a host")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed.of("url", f"Must be at most {MAX_URL_LENGTH} characters")
    return url.strip()


async def set_project_webhook(
    session: AsyncSession, *, project_id: uuid.UUID, url: str | None
) -> str | None:
    """Point the project's webhook at `url` with a new signing secret, returned once.

    `None` removes the webhook (and its secret). Setting it again replaces the secret, so a
    leaked one is revoked by setting the URL anew.
    """
    project = await read_project(session, project_id=project_id)
    if url is None:
        project.webhook_url = project.webhook_secret = None
    else:
        project.webhook_url = _checked(url)
        project.webhook_secret = secrets.token_hex(32)
    await session.flush()
    return project.webhook_secret
