"""Declarative base, constraint naming convention and the column shapes every table repeats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM model; its metadata is what Alembic migrates."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        uuid.UUID: UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
    }


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements that skip the ORM's per-statement work."""
    return cast("Table", model.__table__)


def uuid_pk() -> Mapped[uuid.UUID]:
    """`id UUID PRIMARY KEY DEFAULT gen_random_uuid()`, also known before the INSERT."""
    return mapped_column(
        UUID(as_uuid=True),
        primary_key=True,
        default=uuid.uuid4,
        server_default=text("gen_random_uuid()"),
    )


def created_at() -> Mapped[datetime]:
    """`created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP`."""
    return mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()
    )


def updated_at() -> Mapped[datetime]:
    """`updated_at`, set on insert and on every ORM update.

    The update value is computed here, not in SQL, so the row object knows it after a flush
    without reading it back (an expired attribute cannot load once its session is closed).
    """
    return mapped_column(
        DateTime(timezone=True),
        nullable=False,
        server_default=func.current_timestamp(),
        onupdate=lambda: datetime.now(UTC),
    )


def counter(default: int = 0) -> Mapped[int]:
    """`INTEGER DEFAULT n`, NOT NULL so that statistics are never null."""
    return mapped_column(
        Integer, nullable=False, default=default, server_default=text(str(default))
    )


def big_counter(default: int = 0) -> Mapped[int]:
    """`BIGINT DEFAULT n` (durations in ms), NOT NULL."""
    return mapped_column(
        BigInteger, nullable=False, default=default, server_default=text(str(default))
    )


def flag(default: bool = False) -> Mapped[bool]:
    """`BOOLEAN DEFAULT TRUE|FALSE`, NOT NULL."""
    return mapped_column(
        Boolean,
        nullable=False,
        default=default,
        server_default=text("true" if default else "false"),
    )


def rate() -> Mapped[Decimal]:
    """`DECIMAL(5,2) DEFAULT 0.00`: a percentage such as 85.50, NOT NULL."""
    return mapped_column(
        Numeric(5, 2), nullable=False, default=Decimal("0.00"), server_default=text("0.00")
    )


def one_of(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK that keeps `column` inside the enum's values."""
    quoted = ", ".join(f"'{value.value}'" for value in values)
    return f"{column} IN ({quoted})"
