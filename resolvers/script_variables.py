"""A project's script variables: set and deleted by admins, values never read back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.script_variables import ScriptVariable
from resolvers.access import require_admin
from resolvers.errors import NotFound
from resolvers.tokens import Principal
from resolvers.validation import Input, PageInput

WHAT = "script variables"
MAX_VALUE_BYTES = 32_768
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Set by the sandbox for every script: a variable may not replace them.
RESERVED_NAMES = frozenset({"PATH", "HOME", "LANG", "PWD"})
RESERVED_PREFIX = "TESTRUN_"


def _variable_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            "Must be an environment variable name: letters, digits and _, not first a digit"
        )
    if value in RESERVED_NAMES or value.upper().startswith(RESERVED_PREFIX):
        raise ValueError(
            f"Is reserved: {', '.join(sorted(RESERVED_NAMES))} and TESTRUN_* are set by the "
            "sandbox for every script"
        )
    return value


def _small(value: str) -> str:
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"Must be at most {MAX_VALUE_BYTES} bytes in UTF-8")
    return value


VariableName = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(_variable_name)
]
VariableValue = Annotated[str, AfterValidator(_small)]


class ScriptVariableValue(Input):
    """The value a variable is set to (REST's body)."""

    value: VariableValue


class ScriptVariableSet(ScriptVariableValue):
    """A variable to create or replace: its name and value."""

    name: VariableName


class ScriptVariableName(Input):
    """The variable a delete names."""

    name: VariableName


async def read_script_variables(
    session: AsyncSession, *, principal: Principal, page: PageInput
) -> tuple[Sequence[ScriptVariable], int]:
    """A page of the project's variables by name, and how many there are (show no values)."""
    require_admin(principal, WHAT)
    mine = ScriptVariable.project_id == principal.project_id
    statement = (
        select(ScriptVariable)
        .where(mine)
        .order_by(ScriptVariable.name)
        .limit(page.limit)
        .offset(page.offset)
    )
    total = await session.scalar(select(func.count()).select_from(ScriptVariable).where(mine))
    return list(await session.scalars(statement)), total or 0


async def set_script_variable(
    session: AsyncSession, *, principal: Principal, data: ScriptVariableSet
) -> ScriptVariable:
    """Create the variable, or replace the value of the one with that name."""
    require_admin(principal, WHAT)
    statement = (
        insert(ScriptVariable)
        .values(project_id=principal.project_id, name=data.name, value=data.value)
        .on_conflict_do_update(
            index_elements=[ScriptVariable.project_id, ScriptVariable.name],
            set_={"value": data.value, "updated_at": datetime.now(UTC)},
        )
        .returning(ScriptVariable)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def delete_script_variable(
    session: AsyncSession, *, principal: Principal, data: ScriptVariableName
) -> ScriptVariable:
    """Delete the variable; NotFound when the project has none of that name."""
    require_admin(principal, WHAT)
    row = (
        await session.scalars(
            delete(ScriptVariable)
            .where(
                ScriptVariable.project_id == principal.project_id,
                ScriptVariable.name == data.name,
            )
            .returning(ScriptVariable)
        )
    ).one_or_none()
    if row is None:
        raise NotFound.of("Script variable", data.name)
    return row


async def script_environment(session: AsyncSession, project_id: uuid.UUID) -> dict[str, str]:
    """Every variable of the project as name → value, for its scripts (the engine reads it)."""
    statement = select(ScriptVariable.name, ScriptVariable.value).where(
        ScriptVariable.project_id == project_id
    )
    return {row.name: row.value for row in await session.execute(statement)}
