"""Who uses testrun: users, projects (inside a tenant), memberships and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, one_of, updated_at, uuid_pk
from models.enums import Role


class User(Base):
    """A person (or CI identity) that creates runs and owns tokens."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Project(Base):
    """A project of a tenant; every test case, run and schedule belongs to one.

    `webhook_url` receives a signed POST for each of `webhook_events` (every event when
    null); `webhook_secret` is the HMAC-SHA256 key of that signature, shared with the
    receiver and never shown again.
    """

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(Text, index=True)
    name: Mapped[str] = mapped_column(String(255))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(255))
    webhook_events: Mapped[list[str] | None] = mapped_column(ARRAY(String(50)))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ProjectMember(Base):
    """A user's role in a project."""

    __tablename__ = "project_members"
    __table_args__ = (CheckConstraint(one_of("role", Role), name="role"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()


class ApiToken(Base):
    """A bearer token bound to one user and one project with a role; only its hash is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role"),
        Index("ix_api_tokens_project_id", "project_id"),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
