"""GraphQL types of the caller: its user, project and role."""

from __future__ import annotations

import uuid

import strawberry

from models import tenancy as rows
from models.enums import Role as RoleValue
from resolvers import tenancy
from schema.context import Info

Role = strawberry.enum(
    RoleValue,
    name="Role",
    description="What a token may do: VIEWER reads, EDITOR writes and runs, ADMIN manages.",
)


@strawberry.type(description="A project: test cases, runs and schedules belong to one.")
class Project:
    """GraphQL view of a project."""

    id: uuid.UUID = strawberry.field(description="Project id.")
    name: str = strawberry.field(description="Project name, unique in its tenant.")
    tenant_id: str = strawberry.field(description="Tenant the project belongs to.")

    @classmethod
    def from_model(cls, row: rows.Project) -> Project:
        """Build from the ORM row."""
        return cls(id=row.id, name=row.name, tenant_id=row.tenant_id)


@strawberry.type(description="The caller: the user its token belongs to, with project and role.")
class Me:
    """GraphQL view of the authenticated caller."""

    id: uuid.UUID = strawberry.field(description="The user's id.")
    email: str = strawberry.field(description="The user's email.")
    name: str = strawberry.field(description="The user's display name.")
    role: RoleValue = strawberry.field(description="The token's role in its project.")
    project: Project = strawberry.field(description="The project the token is bound to.")


@strawberry.type
class TenancyQuery:
    """Caller fields of the Query root."""

    @strawberry.field(description="The caller: the token's user, project and role.")
    async def me(self, info: Info) -> Me:
        """The authenticated caller."""
        principal = info.context.principal
        async with info.context.session() as session:
            user = await tenancy.read_user(session, user_id=principal.user_id)
            project = await tenancy.read_project(session, project_id=principal.project_id)
        return Me(
            id=user.id,
            email=user.email,
            name=user.name,
            role=principal.role,
            project=Project.from_model(project),
        )
