"""Test scripts: code run before, after, or at a step of a test case, in its sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, field_validator
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ScriptLanguage, ScriptType
from models.test_cases import TestCase, TestScript
from resolvers.access import require_writer
from resolvers.errors import NotFound, ValidationFailed
from resolvers.tokens import Principal
from resolvers.validation import Input, Name, PageInput, Text, not_null

MAX_CODE_BYTES = 1_000_000
_SCRIPT_ID_ARRAYS = ("pre_script_ids", "post_script_ids", "on_demand_script_ids")


def _at_most_a_megabyte(value: str) -> str:
    if len(value.encode()) > MAX_CODE_BYTES:
        raise ValueError("Must be at most 1 MB (1,000,000 bytes in UTF-8)")
    return value


Code = Annotated[str, StringConstraints(min_length=1), AfterValidator(_at_most_a_megabyte)]
TimeoutSeconds = Annotated[int, Field(ge=1, le=3600)]


class TestScriptFields(Input):
    """Fields of a test script; also the shape of an update, where only those given change."""

    __test__ = False  # not a pytest class, despite its name
    name: Name | None = None
    description: Text | None = None
    script_type: ScriptType | None = None
    language: ScriptLanguage | None = None
    code: Code | None = None
    is_critical: bool | None = None
    timeout_seconds: TimeoutSeconds | None = None
    attached_to_step: Annotated[int, Field(ge=1, le=100_000)] | None = None

    _not_null = field_validator(
        "name", "script_type", "language", "code", "is_critical", "timeout_seconds", mode="before"
    )(not_null)


class TestScriptCreate(TestScriptFields):
    """A new script: name, type, language and code are required."""

    __test__ = False
    name: Name
    script_type: ScriptType
    language: ScriptLanguage
    code: Code
    is_critical: bool = False
    timeout_seconds: TimeoutSeconds = 60


class TestScriptFilter(PageInput):
    """Which scripts to list: every condition given must hold."""

    __test__ = False
    script_type: ScriptType | None = None
    language: ScriptLanguage | None = None


def _check_step(script_type: str, attached_to_step: int | None) -> None:
    if attached_to_step is not None and script_type != ScriptType.ON_DEMAND:
        raise ValidationFailed.of("attached_to_step", "Only for on_demand scripts")


def _scoped(principal: Principal) -> Select[TestScript]:
    return select(TestScript).where(TestScript.project_id == principal.project_id)


async def create_test_script(
    session: AsyncSession, *, principal: Principal, data: TestScriptCreate
) -> TestScript:
    """A new script in the caller's project."""
    require_writer(principal)
    _check_step(data.script_type, data.attached_to_step)
    script = TestScript(project_id=principal.project_id, **data.model_dump())
    session.add(script)
    await session.flush()
    return script


async def read_test_script(
    session: AsyncSession, *, principal: Principal, test_script_id: uuid.UUID
) -> TestScript:
    """The caller's project's script, or NotFound."""
    script = await session.scalar(_scoped(principal).where(TestScript.id == test_script_id))
    if script is None:
        raise NotFound.of("Test script", test_script_id)
    return script


async def read_test_scripts(
    session: AsyncSession, *, principal: Principal, query: TestScriptFilter
) -> tuple[Sequence[TestScript], int]:
    """One page of the project's scripts by name, and how many match in all."""
    statement = _scoped(principal)
    if query.script_type is not None:
        statement = statement.where(TestScript.script_type == query.script_type)
    if query.language is not None:
        statement = statement.where(TestScript.language == query.language)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(
        statement.order_by(TestScript.name, TestScript.id).limit(query.limit).offset(query.offset)
    )
    return rows.all(), int(total or 0)


async def update_test_script(
    session: AsyncSession,
    *,
    principal: Principal,
    test_script_id: uuid.UUID,
    data: TestScriptFields,
) -> TestScript:
    """Change the fields `data` sets; the others stay.

    Changing the type away from on_demand drops `attached_to_step` unless the update sets it.
    """
    require_writer(principal)
    script = await read_test_script(session, principal=principal, test_script_id=test_script_id)
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    retyped = values.get("script_type", ScriptType.ON_DEMAND) != ScriptType.ON_DEMAND
    if retyped and "attached_to_step" not in values:
        values["attached_to_step"] = None
    _check_step(
        values.get("script_type", script.script_type),
        values.get("attached_to_step", script.attached_to_step),
    )
    for name, value in values.items():
        setattr(script, name, value)
    await session.flush()
    return script


async def delete_test_script(
    session: AsyncSession, *, principal: Principal, test_script_id: uuid.UUID
) -> TestScript:
    """Delete for good, and take it out of every test case that lists it.

    Results it produced stay, no longer linked to it (`test_script_id` becomes null).
    """
    require_writer(principal)
    script = await read_test_script(session, principal=principal, test_script_id=test_script_id)
    arrays = [getattr(TestCase, name) for name in _SCRIPT_ID_ARRAYS]
    await session.execute(
        update(TestCase)
        .where(
            TestCase.project_id == principal.project_id,
            or_(*(array.contains([script.id]) for array in arrays)),
        )
        .values({array: func.array_remove(array, script.id) for array in arrays})
        .execution_options(synchronize_session="fetch")
    )
    await session.delete(script)
    await session.flush()
    return script
