"""A project's API tokens as its admins manage them: create (secret shown once), list, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from models.tenancy import ApiToken
from resolvers.access import require_admin
from resolvers.errors import InvalidState, NotFound, ValidationFailed
from resolvers.pages import read_page
from resolvers.tokens import Principal, create_api_token
from resolvers.validation import Input, Name, PageInput, Timestamp


class ApiTokenCreate(Input):
    """A new token of the caller's project: its role, a label, and when it stops working."""

    role: Role
    name: Name
    expires_at: Timestamp | None = None


def token_state(token: ApiToken, *, now: datetime) -> str:
    """`active`, `revoked` or `expired`: whether the token still opens the API."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def token_fields(token: ApiToken, *, now: datetime) -> dict[str, Any]:
    """What GraphQL and REST show of a token as of `now` (never its hash)."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "role": Role(token.role),
        "user_id": token.user_id,
        "state": token_state(token, now=now),
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
        "created_at": token.created_at,
    }


async def create_project_token(
    session: AsyncSession, *, principal: Principal, data: ApiTokenCreate, now: datetime
) -> tuple[ApiToken, str]:
    """A token of the caller's project for the caller's user, with its secret (shown once)."""
    require_admin(principal)
    if data.expires_at is not None and data.expires_at <= now:
        raise ValidationFailed.of("expires_at", "Must be in the future")
    return await create_api_token(
        session,
        user_id=principal.user_id,
        project_id=principal.project_id,
        role=data.role,
        name=data.name,
        expires_at=data.expires_at,
    )


async def read_project_tokens(
    session: AsyncSession, *, principal: Principal, page: PageInput
) -> tuple[Sequence[ApiToken], int]:
    """One page of the project's tokens, newest first, and how many there are."""
    require_admin(principal)
    statement = select(ApiToken).where(ApiToken.project_id == principal.project_id)
    return await read_page(session, statement, page, ApiToken.created_at.desc(), ApiToken.id)


async def revoke_project_token(
    session: AsyncSession, *, principal: Principal, token_id: uuid.UUID, now: datetime
) -> ApiToken:
    """Revoke a token of the project: its next request is refused, its subscriptions close.

    A token already revoked is INVALID_STATE (its revocation time stays as it was).
    """
    require_admin(principal)
    token = await session.scalar(
        select(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.project_id == principal.project_id)
        .with_for_update()
    )
    if token is None:
        raise NotFound.of("API token", token_id)
    if token.revoked_at is not None:
        raise InvalidState.of("revoke API token", "revoked")
    token.revoked_at = now
    await session.flush()
    return token


async def usable_tokens(
    session: AsyncSession, token_ids: Iterable[uuid.UUID], *, now: datetime
) -> set[uuid.UUID]:
    """Which of `token_ids` still open the API (neither revoked nor expired nor deleted)."""
    wanted = list(token_ids)
    if not wanted:
        return set()
    found = await session.scalars(
        select(ApiToken.id).where(
            ApiToken.id.in_(wanted),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    return set(found)
