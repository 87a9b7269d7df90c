"""Test cases: the recorded proven steps a run replays; deleted softly so history stays."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.test_cases import TestCase, TestScript
from resolvers.access import require_writer
from resolvers.batches import Columns, batch_columns, batch_rows, keyed, pick_rows
from resolvers.errors import NotFound
from resolvers.flakiness import DEFAULT_FLAKY_WINDOW, flaky_test_case_ids
from resolvers.tokens import Principal
from resolvers.validation import (
    Input,
    Name,
    PageInput,
    SuitePath,
    Tags,
    Text,
    Varchar255,
    not_null,
)

DataValue = str | int | float | bool | None
Action = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class StepArguments(Input):
    """A step's arguments: `action` plus whatever that action takes (url, index, text...)."""

    model_config = Input.model_config | {"extra": "allow"}
    action: Action


class ProvenStep(Input):
    """One recorded step, in the recorder's format (runs-execute.md)."""

    step_number: int = Field(ge=1, le=100_000)
    tool_name: Annotated[str, StringConstraints(max_length=100)] = "e2b_browser"
    arguments: StepArguments


class TestCaseFields(Input):
    """Fields a test case is created with; also the shape of an update (all optional)."""

    __test__ = False  # not a pytest class, despite its name
    name: Name | None = None
    description: Text | None = None
    suite_path: SuitePath | None = None
    suite_name: Varchar255 | None = None
    proven_steps: Annotated[list[ProvenStep], Field(max_length=1_000)] | None = None
    data_rows: Annotated[list[dict[str, DataValue]], Field(max_length=10_000)] | None = None
    pre_script_ids: Annotated[list[uuid.UUID], Field(max_length=50)] | None = None
    post_script_ids: Annotated[list[uuid.UUID], Field(max_length=50)] | None = None
    on_demand_script_ids: Annotated[list[uuid.UUID], Field(max_length=50)] | None = None
    tags: Tags | None = None

    _name_not_null = field_validator("name", mode="before")(not_null)


class TestCaseCreate(TestCaseFields):
    """A new test case: a name is required, everything else may come later."""

    __test__ = False
    name: Name


class TestCaseFilter(PageInput):
    """Which test cases to list."""

    suite_path: SuitePath | None = None
    search: Varchar255 | None = None
    tags: Tags | None = None
    # True: only flaky test cases; False: only the others (resolvers/flakiness.py).
    flaky: bool | None = None


def _columns(data: TestCaseFields) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True)
    if "proven_steps" in values and values["proven_steps"] is None:
        values["proven_steps"] = []
    return values


async def _check_scripts(session: AsyncSession, principal: Principal, data: TestCaseFields) -> None:
    wanted = {
        script_id
        for ids in (data.pre_script_ids, data.post_script_ids, data.on_demand_script_ids)
        for script_id in ids or ()
    }
    if not wanted:
        return
    found = set(
        await session.scalars(
            select(TestScript.id).where(
                TestScript.id.in_(wanted), TestScript.project_id == principal.project_id
            )
        )
    )
    missing = sorted(wanted - found, key=str)
    if missing:
        raise NotFound.of("Test script", missing[0])


def _live(principal: Principal) -> Select[TestCase]:
    return select(TestCase).where(
        TestCase.project_id == principal.project_id, TestCase.deleted_at.is_(None)
    )


async def create_test_case(
    session: AsyncSession, *, principal: Principal, data: TestCaseCreate
) -> TestCase:
    """A new test case in the caller's project."""
    require_writer(principal)
    await _check_scripts(session, principal, data)
    test_case = TestCase(
        project_id=principal.project_id, created_by=principal.user_id, **_columns(data)
    )
    session.add(test_case)
    await session.flush()
    return test_case


async def read_test_case(
    session: AsyncSession, *, principal: Principal, test_case_id: uuid.UUID
) -> TestCase:
    """The caller's project's test case, or NotFound (also when deleted)."""
    test_case = await session.scalar(_live(principal).where(TestCase.id == test_case_id))
    if test_case is None:
        raise NotFound.of("Test case", test_case_id)
    return test_case


async def read_test_cases(
    session: AsyncSession,
    *,
    principal: Principal,
    query: TestCaseFilter,
    flaky_window: int = DEFAULT_FLAKY_WINDOW,
) -> tuple[Sequence[TestCase], int]:
    """One page of the project's test cases by name, and how many match in all.

    `flaky_window` is how many recent executions decide whether a test case is flaky.
    """
    statement = _live(principal)
    if query.flaky is not None:
        flaky = TestCase.id.in_(flaky_test_case_ids(principal.project_id, window=flaky_window))
        statement = statement.where(flaky if query.flaky else ~flaky)
    if query.suite_path:
        prefix = len(query.suite_path)
        statement = statement.where(TestCase.suite_path[1:prefix] == query.suite_path)
    if query.search:
        statement = statement.where(TestCase.name.icontains(query.search, autoescape=True))
    if query.tags:
        statement = statement.where(TestCase.tags.contains(query.tags))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(
        statement.order_by(TestCase.name, TestCase.id).limit(query.limit).offset(query.offset)
    )
    return rows.all(), int(total or 0)


async def update_test_case(
    session: AsyncSession, *, principal: Principal, test_case_id: uuid.UUID, data: TestCaseFields
) -> TestCase:
    """Change the fields `data` sets; the others stay."""
    require_writer(principal)
    test_case = await read_test_case(session, principal=principal, test_case_id=test_case_id)
    await _check_scripts(session, principal, data)
    for name, value in _columns(data).items():
        setattr(test_case, name, value)
    await session.flush()
    return test_case


async def delete_test_case(
    session: AsyncSession, *, principal: Principal, test_case_id: uuid.UUID
) -> TestCase:
    """Soft-delete: gone from lists and new runs, kept for the runs that used it."""
    require_writer(principal)
    test_case = await read_test_case(session, principal=principal, test_case_id=test_case_id)
    test_case.deleted_at = datetime.now(UTC)
    await session.flush()
    return test_case


_TEST_CASES = select(TestCase).where(keyed(TestCase.id))


async def load_test_cases(
    session: AsyncSession, test_case_ids: Sequence[uuid.UUID]
) -> list[TestCase | None]:
    """Test cases by id in the order asked (deleted ones too: old runs still name them)."""
    rows = await batch_rows(session, _TEST_CASES, test_case_ids)
    return pick_rows(test_case_ids, rows, lambda row: row.id)


async def load_test_case_columns(
    session: AsyncSession, test_case_ids: Sequence[uuid.UUID], *, columns: Columns
) -> list[Row[Any] | None]:
    """`load_test_cases` as rows of `columns` (the id among them); one SELECT."""
    columns = columns if "id" in columns else ("id", *columns)
    rows = await batch_columns(session, _TEST_CASES, test_case_ids, model=TestCase, columns=columns)
    return pick_rows(test_case_ids, rows, lambda row: row.id)
