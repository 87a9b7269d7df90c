"""GraphQL types and root fields of a project's API tokens (admins only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry

from models import tenancy as rows
from models.enums import Role
from resolvers import api_tokens
from resolvers.validation import PageInput, parse
from schema.context import Info
from schema.tenancy import Role as RoleEnum


@strawberry.type(description="An API token of the project; its secret is never shown again.")
class ApiToken:
    """GraphQL view of an API token."""

    id: uuid.UUID = strawberry.field(description="Token id (revokeApiToken takes it).")
    name: str | None = strawberry.field(description="The label it was created with.")
    prefix: str = strawberry.field(description="Its first characters, to recognise it by.")
    role: Role = strawberry.field(description="What it may do in the project.")
    user_id: uuid.UUID = strawberry.field(description="The user it acts as (who created it).")
    state: str = strawberry.field(description="`active`, `revoked` or `expired`.")
    expires_at: datetime | None = strawberry.field(description="When it stops working.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used (to the minute)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_model(cls, row: rows.ApiToken, *, now: datetime) -> ApiToken:
        """Build from the ORM row, as of `now`."""
        return cls(**api_tokens.token_fields(row, now=now) | {"role": RoleEnum(row.role)})


@strawberry.type(description="A token just created, with its secret: shown this once only.")
class CreatedApiToken:
    """createApiToken's answer."""

    token: ApiToken = strawberry.field(description="The new token.")
    secret: str = strawberry.field(
        description="Send it as `Authorization: Bearer <secret>`; it cannot be read again."
    )


@strawberry.type(description="One page of API tokens.")
class ApiTokenPage:
    """A page of API tokens with the total count."""

    items: list[ApiToken] = strawberry.field(description="The tokens of this page.")
    total: int = strawberry.field(description="How many there are in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.type
class ApiTokenQuery:
    """API token fields of the Query root."""

    @strawberry.field(description="The project's API tokens, newest first (admins only).")
    async def api_tokens(self, info: Info, limit: int = 20, offset: int = 0) -> ApiTokenPage:
        """List the project's tokens."""
        page = parse(PageInput, {"limit": limit, "offset": offset})
        async with info.context.session() as session:
            found, total = await api_tokens.read_project_tokens(
                session, principal=info.context.principal, page=page
            )
        now = datetime.now(UTC)
        return ApiTokenPage(
            items=[ApiToken.from_model(row, now=now) for row in found],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )


@strawberry.type
class ApiTokenMutation:
    """API token fields of the Mutation root."""

    @strawberry.mutation(
        description="Create a token of the project acting as the caller (admins only); the "
        "answer holds its secret, which is never shown again."
    )
    async def create_api_token(
        self, info: Info, role: Role, name: str, expires_at: datetime | None = None
    ) -> CreatedApiToken:
        """Create a token."""
        data = parse(
            api_tokens.ApiTokenCreate, {"role": role, "name": name, "expires_at": expires_at}
        )
        now = datetime.now(UTC)
        async with info.context.transaction() as session:
            row, secret = await api_tokens.create_project_token(
                session, principal=info.context.principal, data=data, now=now
            )
        return CreatedApiToken(token=ApiToken.from_model(row, now=now), secret=secret)

    @strawberry.mutation(
        description="Revoke a token (admins only): its next request gets UNAUTHENTICATED and "
        "its open subscriptions are closed within seconds."
    )
    async def revoke_api_token(self, info: Info, id: uuid.UUID) -> ApiToken:
        """Revoke a token."""
        now = datetime.now(UTC)
        async with info.context.transaction() as session:
            row = await api_tokens.revoke_project_token(
                session, principal=info.context.principal, token_id=id, now=now
            )
        return ApiToken.from_model(row, now=now)
