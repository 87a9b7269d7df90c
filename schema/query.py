"""The Query root: each field is a thin call into `resolvers`."""

from __future__ import annotations

import strawberry

from resolvers import tenancy
from schema.context import Info
from schema.tenancy import Me, Project


@strawberry.type(description="Read operations; every field is scoped to the token's project.")
class Query:
    """GraphQL Query root."""

    @strawberry.field(description="The caller: the token's user, project and role.")
    async def me(self, info: Info) -> Me:
        """The authenticated caller."""
        principal = info.context.principal
        async with info.context.session_factory() as session:
            user = await tenancy.read_user(session, user_id=principal.user_id)
            project = await tenancy.read_project(session, project_id=principal.project_id)
        return Me(
            id=user.id,
            email=user.email,
            name=user.name,
            role=principal.role,
            project=Project.from_model(project),
        )
