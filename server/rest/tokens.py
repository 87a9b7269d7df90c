"""REST routes of a project's API tokens (admins only): create, list, revoke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from models import tenancy as rows
from models.enums import Role
from resolvers import api_tokens
from resolvers.api_tokens import ApiTokenCreate
from resolvers.validation import PageInput
from server.rest.bodies import page_of
from server.rest.operations import (
    AnyOperation,
    Call,
    NoBody,
    NoQuery,
    Operation,
    Reply,
    json_reply,
)

TOKENS = "/api/v1/api-tokens"
TOKEN = TOKENS + "/{token_id}"
TAG = "API tokens"


class ApiTokenBody(BaseModel):
    """An API token of the project; its secret is never shown again."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str | None
    prefix: str = Field(description="Its first characters, to recognise it by.")
    role: Role
    user_id: uuid.UUID = Field(description="The user it acts as (who created it).")
    state: str = Field(description="`active`, `revoked` or `expired`.")
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: rows.ApiToken, *, now: datetime) -> ApiTokenBody:
        """The body of `row` as of `now`."""
        return cls(**api_tokens.token_fields(row, now=now))


class CreatedApiTokenBody(ApiTokenBody):
    """A token just created, with its secret: shown this once only."""

    secret: str = Field(description="Send it as `Authorization: Bearer <secret>`.")


ApiTokenPage = page_of(ApiTokenBody)


async def create_api_token(call: Call[ApiTokenCreate, NoQuery]) -> Reply:
    """A token of the project acting as the caller; the answer's `secret` is shown only once."""
    now = datetime.now(UTC)
    async with call.writing() as session:
        row, secret = await api_tokens.create_project_token(
            session, principal=call.principal, data=call.body, now=now
        )
    body = ApiTokenBody.of(row, now=now)
    return json_reply(CreatedApiTokenBody(**body.model_dump(), secret=secret), 201)


async def list_api_tokens(call: Call[NoBody, PageInput]) -> Reply:
    """The project's tokens, newest first, without their secrets."""
    async with call.reading() as session:
        found, total = await api_tokens.read_project_tokens(
            session, principal=call.principal, page=call.query
        )
    now = datetime.now(UTC)
    return ApiTokenPage(
        items=[ApiTokenBody.of(row, now=now) for row in found],
        total=total,
        limit=call.query.limit,
        offset=call.query.offset,
    )


async def revoke_api_token(call: Call[NoBody, NoQuery]) -> Reply:
    """Revoke a token: its next request is 401 and its subscriptions close within seconds."""
    now = datetime.now(UTC)
    async with call.writing() as session:
        row = await api_tokens.revoke_project_token(
            session, principal=call.principal, token_id=call.id("token_id"), now=now
        )
    return ApiTokenBody.of(row, now=now)


OPERATIONS: list[AnyOperation] = [
    Operation("POST", TOKENS, create_api_token, "Create an API token", TAG, ApiTokenCreate,
              NoQuery, CreatedApiTokenBody, status=201, errors=(400, 403)),
    Operation("GET", TOKENS, list_api_tokens, "List API tokens", TAG, NoBody, PageInput,
              ApiTokenPage, errors=(400, 403)),
    Operation("POST", TOKEN + "/revoke", revoke_api_token, "Revoke an API token", TAG, NoBody,
              NoQuery, ApiTokenBody, errors=(403, 404, 422)),
]  # fmt: skip
