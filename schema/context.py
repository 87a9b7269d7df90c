"""What every GraphQL resolver gets in `info.context`: the caller and the database."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.errors import Unauthenticated
from resolvers.tokens import Principal


@dataclass(slots=True)
class Context:
    """Per-request context, built by the transport from the authenticated request."""

    session_factory: async_sessionmaker[AsyncSession]
    caller: Principal | None

    @property
    def principal(self) -> Principal:
        """The authenticated caller; only the GraphiQL page is served without one."""
        if self.caller is None:
            raise Unauthenticated("Not authenticated")
        return self.caller


Info = strawberry.Info[Context, None]
