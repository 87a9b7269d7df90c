"""What `testrun project create` and `testrun token create` do, on their own engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from models.tenancy import Project
from resolvers.tenancy import (
    create_project,
    ensure_member,
    find_projects_by_name,
    first_member,
    get_or_create_user,
)
from resolvers.tokens import create_api_token
from resolvers.webhooks import set_project_webhook


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What the command line asked for."""

    project: str
    role: str
    tenant: str | None = None
    email: str | None = None
    name: str | None = None
    expires_at: datetime | None = None


async def create_project_with_admin(
    database_url: str, *, tenant_id: str, name: str, admin_email: str
) -> str:
    """Create the project with `admin_email` as its admin; returns the project's id."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_session_factory(engine)) as session:
            project = await create_project(session, tenant_id=tenant_id, name=name)
            admin = await get_or_create_user(
                session, email=admin_email, name=admin_email.split("@")[0]
            )
            await ensure_member(session, project_id=project.id, user_id=admin.id, role=Role.ADMIN)
        return str(project.id)
    finally:
        await engine.dispose()


async def find_project(session: AsyncSession, *, name: str, tenant: str | None) -> Project:
    """The one project called `name` (in `tenant`); LookupError when none or several."""
    projects = await find_projects_by_name(session, name=name, tenant_id=tenant)
    if not projects:
        raise LookupError(f"Project not found: {name!r}")
    if len(projects) > 1:
        tenants = ", ".join(sorted(project.tenant_id for project in projects))
        raise LookupError(f"Several tenants have a project {name!r} ({tenants}); pass --tenant")
    return projects[0]


async def set_webhook(
    database_url: str, *, project: str, tenant: str | None, url: str | None
) -> str | None:
    """Set (or with None remove) the project's webhook; returns the new signing secret."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_session_factory(engine)) as session:
            found = await find_project(session, name=project, tenant=tenant)
            return await set_project_webhook(session, project_id=found.id, url=url)
    finally:
        await engine.dispose()


async def create_token(database_url: str, request: TokenRequest) -> str:
    """The new token's secret; LookupError when the project or owner cannot be determined."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_session_factory(engine)) as session:
            project = await find_project(session, name=request.project, tenant=request.tenant)
            role = Role(request.role)
            if request.email:
                user = await get_or_create_user(
                    session, email=request.email, name=request.email.split("@")[0]
                )
                await ensure_member(session, project_id=project.id, user_id=user.id, role=role)
            else:
                found = await first_member(session, project_id=project.id)
                if found is None:
                    raise LookupError(
                        f"Project {request.project!r} has no member; pass --user EMAIL"
                    )
                user = found
            _, secret = await create_api_token(
                session,
                user_id=user.id,
                project_id=project.id,
                role=role,
                name=request.name,
                expires_at=request.expires_at,
            )
        return secret
    finally:
        await engine.dispose()
