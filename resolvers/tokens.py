"""API tokens: created once and shown once, stored as a hash, checked on every request."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.enums import Role
from models.tenancy import ApiToken, Project
from resolvers.errors import Unauthenticated

TOKEN_PREFIX = "trn_"
# 32 random bytes in URL-safe base64 are 43 characters.
_TOKEN_PATTERN = re.compile(r"^trn_[A-Za-z0-9_-]{43}$")
# Writing last_used_at on every request would turn each read into a write; once a
# minute is as precise as anyone reading "last used" needs.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's user, its project (and tenant) and its role."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    project_id: uuid.UUID
    tenant_id: str
    role: Role


def hash_token(token: str) -> str:
    """The stored form of a token; tokens carry 256 random bits, so SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether `token` has the shape of a testrun token."""
    return bool(_TOKEN_PATTERN.fullmatch(token))


async def create_api_token(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    role: Role,
    name: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Store a new token and return it with its secret, which is never readable again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=hash_token(secret),
        prefix=secret[:12],
        name=name,
        user_id=user_id,
        project_id=project_id,
        role=role.value,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


# Built once: every request runs it (see `resolvers.batches.batch_rows`). The columns a
# check reads, as a plain row of table columns: no ApiToken object is built for each
# request, and the ORM is not involved (see `resolvers.batches.table_column`).
_TOKENS = table_of(ApiToken)
_PROJECTS = table_of(Project)
_TOKEN = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.user_id,
        _TOKENS.c.project_id,
        _TOKENS.c.role,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _TOKENS.c.revoked_at,
        _PROJECTS.c.tenant_id,
    )
    .select_from(_TOKENS.join(_PROJECTS, _PROJECTS.c.id == _TOKENS.c.project_id))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


async def verify_token(
    session: AsyncSession, secret: str, *, now: datetime
) -> tuple[Principal, bool]:
    """The principal of `secret`, or `Unauthenticated` saying why it is refused; reads only.

    Also says whether the token's last-used mark is due (see `LAST_USED_RESOLUTION`).
    """
    if not is_well_formed(secret):
        raise Unauthenticated("Malformed bearer token")
    row = (await session.execute(_TOKEN, {"token_hash": hash_token(secret)})).one_or_none()
    if row is None:
        raise Unauthenticated("Invalid bearer token")
    token = row
    if token.revoked_at is not None:
        raise Unauthenticated("Bearer token has been revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("Bearer token has expired")
    principal = Principal(
        token_id=token.id,
        user_id=token.user_id,
        project_id=token.project_id,
        tenant_id=token.tenant_id,
        role=Role(token.role),
    )
    return principal, token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION


async def mark_token_used(session: AsyncSession, token_id: uuid.UUID, *, now: datetime) -> None:
    """Record that the token was used at `now`."""
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def authenticate_token(session: AsyncSession, secret: str, *, now: datetime) -> Principal:
    """The principal of `secret`, or `Unauthenticated` saying why it is refused.

    Marks the token used (at most once per LAST_USED_RESOLUTION).
    """
    principal, mark_due = await verify_token(session, secret, now=now)
    if mark_due:
        await mark_token_used(session, principal.token_id, now=now)
    return principal
