"""GraphQL types, inputs and root fields of test scripts."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import enums
from models import test_cases as rows
from resolvers import scripts
from resolvers.validation import parse
from schema.context import Info
from schema.conversion import input_data
from schema.enums import ScriptLanguage, ScriptType


@strawberry.type(description="A script run before, after, or at a step of a test case.")
class TestScript:
    """GraphQL view of a test script."""

    __test__ = False  # not a pytest class, despite its name
    id: uuid.UUID = strawberry.field(description="Script id.")
    project_id: uuid.UUID = strawberry.field(description="Project it belongs to.")
    name: str = strawberry.field(description="Name shown in results.")
    description: str | None = strawberry.field(description="What it does.")
    script_type: enums.ScriptType = strawberry.field(description="When it runs.")
    language: enums.ScriptLanguage = strawberry.field(description="What it is written in.")
    code: str = strawberry.field(description="Its source code.")
    is_critical: bool = strawberry.field(
        description="A critical pre-execution or on-demand script that fails fails the test case."
    )
    timeout_seconds: int = strawberry.field(description="It is stopped after this long (1-3600).")
    attached_to_step: int | None = strawberry.field(
        description="ON_DEMAND: the step number it runs at."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_model(cls, row: rows.TestScript) -> TestScript:
        """Build from the ORM row."""
        return cls(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            description=row.description,
            script_type=ScriptType(row.script_type),
            language=ScriptLanguage(row.language),
            code=row.code,
            is_critical=row.is_critical,
            timeout_seconds=row.timeout_seconds,
            attached_to_step=row.attached_to_step,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One page of test scripts.")
class TestScriptPage:
    """A page of test scripts with the total count."""

    __test__ = False
    items: list[TestScript] = strawberry.field(description="The scripts of this page.")
    total: int = strawberry.field(description="How many match in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.input(description="Fields of a test script; on update, only those given change.")
class TestScriptInput:
    """Input of createTestScript and updateTestScript."""

    __test__ = False
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name (required on create)."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="What it does."
    )
    script_type: enums.ScriptType | None = strawberry.field(
        default=strawberry.UNSET, description="When it runs (required on create)."
    )
    language: enums.ScriptLanguage | None = strawberry.field(
        default=strawberry.UNSET, description="What it is written in (required on create)."
    )
    code: str | None = strawberry.field(
        default=strawberry.UNSET, description="Source code, at most 1 MB (required on create)."
    )
    is_critical: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Failing aborts the test case (default false)."
    )
    timeout_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="Stopped after this long, 1-3600 (default 60)."
    )
    attached_to_step: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="ON_DEMAND only: the step number it runs at (>= 1). Changing the type "
        "away from ON_DEMAND clears it.",
    )


@strawberry.type
class ScriptQuery:
    """Test script fields of the Query root."""

    @strawberry.field(description="The project's test scripts, by name.")
    async def test_scripts(
        self,
        info: Info,
        script_type: enums.ScriptType | None = None,
        language: enums.ScriptLanguage | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> TestScriptPage:
        """List test scripts."""
        query = parse(
            scripts.TestScriptFilter,
            {"script_type": script_type, "language": language, "limit": limit, "offset": offset},
        )
        async with info.context.session() as session:
            found, total = await scripts.read_test_scripts(
                session, principal=info.context.principal, query=query
            )
        return TestScriptPage(
            items=[TestScript.from_model(row) for row in found],
            total=total,
            limit=query.limit,
            offset=query.offset,
        )

    @strawberry.field(description="One test script of the project.")
    async def test_script(self, info: Info, id: uuid.UUID) -> TestScript:
        """Read a test script."""
        async with info.context.session() as session:
            row = await scripts.read_test_script(
                session, principal=info.context.principal, test_script_id=id
            )
        return TestScript.from_model(row)


@strawberry.type
class ScriptMutation:
    """Test script fields of the Mutation root."""

    @strawberry.mutation(description="Create a test script.")
    async def create_test_script(self, info: Info, input: TestScriptInput) -> TestScript:
        """Create a test script."""
        data = parse(scripts.TestScriptCreate, input_data(input))
        async with info.context.transaction() as session:
            row = await scripts.create_test_script(
                session, principal=info.context.principal, data=data
            )
        return TestScript.from_model(row)

    @strawberry.mutation(description="Change a test script; fields left out stay as they are.")
    async def update_test_script(
        self, info: Info, id: uuid.UUID, input: TestScriptInput
    ) -> TestScript:
        """Update a test script."""
        data = parse(scripts.TestScriptFields, input_data(input))
        async with info.context.transaction() as session:
            row = await scripts.update_test_script(
                session, principal=info.context.principal, test_script_id=id, data=data
            )
        return TestScript.from_model(row)

    @strawberry.mutation(
        description="Delete a test script for good; test cases stop listing it and its past "
        "results stay, unlinked."
    )
    async def delete_test_script(self, info: Info, id: uuid.UUID) -> TestScript:
        """Delete a test script."""
        async with info.context.transaction() as session:
            row = await scripts.delete_test_script(
                session, principal=info.context.principal, test_script_id=id
            )
        return TestScript.from_model(row)
