"""Users, projects and memberships."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from models.tenancy import Project, ProjectMember, User
from resolvers.errors import Conflict, NotFound


async def read_user(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    """The user with `user_id`, or NotFound."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User not found: {user_id}")
    return user


async def read_project(session: AsyncSession, *, project_id: uuid.UUID) -> Project:
    """The project with `project_id`, or NotFound."""
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project not found: {project_id}")
    return project


async def find_projects_by_name(
    session: AsyncSession, *, name: str, tenant_id: str | None = None
) -> list[Project]:
    """Projects called `name`, in one tenant or in all of them."""
    query = select(Project).where(Project.name == name)
    if tenant_id is not None:
        query = query.where(Project.tenant_id == tenant_id)
    return list((await session.scalars(query.order_by(Project.created_at))).all())


async def create_project(session: AsyncSession, *, tenant_id: str, name: str) -> Project:
    """A new project; Conflict when the tenant already has one of that name."""
    if await find_projects_by_name(session, name=name, tenant_id=tenant_id):
        raise Conflict(f"Project already exists in tenant {tenant_id!r}: {name!r}")
    project = Project(tenant_id=tenant_id, name=name)
    session.add(project)
    await session.flush()
    return project


async def get_or_create_user(session: AsyncSession, *, email: str, name: str) -> User:
    """The user with `email`, created with `name` if there is none."""
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name)
        session.add(user)
        await session.flush()
    return user


async def ensure_member(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> ProjectMember:
    """The user's membership of the project, created with `role` if absent."""
    member = await session.get(ProjectMember, (project_id, user_id))
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=user_id, role=role.value)
        session.add(member)
        await session.flush()
    return member


async def first_member(session: AsyncSession, *, project_id: uuid.UUID) -> User | None:
    """The project's earliest member with the most rights (admin, then editor, then viewer)."""
    rank = {Role.ADMIN.value: 0, Role.EDITOR.value: 1, Role.VIEWER.value: 2}
    rows = (
        await session.execute(
            select(User, ProjectMember.role)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project_id)
            .order_by(ProjectMember.created_at)
        )
    ).all()
    if not rows:
        return None
    user, _ = min(rows, key=lambda row: rank[row[1]])
    return user
