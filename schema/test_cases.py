"""GraphQL types, inputs and root fields of test cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from models import test_cases as rows
from resolvers import flakiness, test_cases
from resolvers.validation import parse
from schema.context import Info
from schema.conversion import from_columns, input_data
from schema.projection import Projection
from schema.scalars import JSON


@strawberry.type(description="A recorded test case: the proven steps a run replays.")
class TestCase:
    """GraphQL view of a test case."""

    __test__ = False  # not a pytest class, despite its name
    id: uuid.UUID = strawberry.field(description="Test case id.")
    project_id: uuid.UUID = strawberry.field(description="Project it belongs to.")
    name: str = strawberry.field(description="Name shown in runs and reports.")
    description: str | None = strawberry.field(description="What the test checks.")
    suite_path: list[str] | None = strawberry.field(
        description="Folder path, e.g. [ROOT, Regression, Smoke]."
    )
    suite_name: str | None = strawberry.field(description="Name of the innermost folder.")
    proven_steps: JSON = strawberry.field(
        description="Recorded steps: [{step_number, tool_name, arguments: {action, ...}}]."
    )
    data_rows: JSON | None = strawberry.field(
        description="Data-driven rows; each replays the steps with {{column}} filled in."
    )
    step_count: int = strawberry.field(description="How many proven steps it has.")
    pre_script_ids: list[uuid.UUID] | None = strawberry.field(
        description="Scripts run before the steps, in order."
    )
    post_script_ids: list[uuid.UUID] | None = strawberry.field(
        description="Scripts run after the steps, in order."
    )
    on_demand_script_ids: list[uuid.UUID] | None = strawberry.field(
        description="Scripts attached to particular steps."
    )
    tags: list[str] | None = strawberry.field(description="Free labels.")
    created_by: uuid.UUID | None = strawberry.field(description="User who created it.")
    deleted_at: datetime | None = strawberry.field(
        description="When it was deleted (soft delete); null while live."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(
        description="Outcome flips between consecutive executions of its last "
        "TESTRUN_FLAKY_WINDOW (20) passed or failed executions, in percent of those possible "
        "(P F P F: 100). 0 with fewer than two."
    )
    async def flake_rate(self, info: Info) -> float:
        """Its flake rate."""
        return float((await _flakiness(info, self.id)).flake_rate)

    @strawberry.field(
        description="Flaky: its outcome flipped at least twice in that window, or an "
        "execution there passed only on a retry."
    )
    async def is_flaky(self, info: Info) -> bool:
        """Whether it is flaky."""
        return (await _flakiness(info, self.id)).is_flaky

    @classmethod
    def from_model(cls, row: rows.TestCase) -> TestCase:
        """Build from the ORM row."""
        return from_columns(
            cls,
            row,
            proven_steps=JSON(row.proven_steps),
            data_rows=None if row.data_rows is None else JSON(row.data_rows),
            step_count=_step_count(row.proven_steps),
        )


def _step_count(proven_steps: Sequence[object] | None) -> int:
    return len(proven_steps or [])


# Test cases read for a query, of the columns it selects (see `Projection`).
TEST_CASE_COLUMNS = Projection(
    TestCase,
    rows.TestCase,
    keys=("id",),
    needs={"stepCount": ("proven_steps",), "flakeRate": (), "isFlaky": ()},
    derived={"step_count": ("proven_steps", _step_count)},
)


async def _load_flakiness(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, int]]
) -> list[flakiness.Flakiness]:
    window = keys[0][1] if keys else flakiness.DEFAULT_FLAKY_WINDOW  # one window per request
    return await flakiness.load_flakiness(session, [key[0] for key in keys], window=window)


async def _flakiness(info: Info, test_case_id: uuid.UUID) -> flakiness.Flakiness:
    key = (test_case_id, info.context.flaky_window)
    return await info.context.loader(_load_flakiness).load(key)


@strawberry.input(name="TestCaseFilter", description="Which test cases to list.")
class TestCaseFilterInput:
    """Filters of `testCases` beyond its arguments."""

    flaky: bool | None = strawberry.field(
        default=None,
        description="True: only flaky test cases (see TestCase.isFlaky); false: only the others.",
    )


@strawberry.type(description="One page of test cases.")
class TestCasePage:
    """A page of test cases with the total count."""

    __test__ = False
    items: list[TestCase] = strawberry.field(description="The test cases of this page.")
    total: int = strawberry.field(description="How many match in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.input(description="Fields of a test case; on update, only those given change.")
class TestCaseInput:
    """Input of createTestCase and updateTestCase."""

    __test__ = False
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name (required on create)."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="What it checks."
    )
    suite_path: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Folder path."
    )
    suite_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Innermost folder."
    )
    proven_steps: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Steps: [{step_number, tool_name, arguments: {action, ...}}].",
    )
    data_rows: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Data-driven rows: [{column: value}]."
    )
    pre_script_ids: list[uuid.UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Scripts run before the steps."
    )
    post_script_ids: list[uuid.UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Scripts run after the steps."
    )
    on_demand_script_ids: list[uuid.UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Scripts attached to steps."
    )
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Labels.")


@strawberry.type
class TestCaseQuery:
    """Test case fields of the Query root."""

    __test__ = False

    @strawberry.field(description="The project's live test cases, by name.")
    async def test_cases(
        self,
        info: Info,
        suite_path: list[str] | None = None,
        search: str | None = None,
        tags: list[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        filter: TestCaseFilterInput | None = None,
    ) -> TestCasePage:
        """List test cases."""
        query = parse(
            test_cases.TestCaseFilter,
            {
                "suite_path": suite_path,
                "search": search,
                "tags": tags,
                "limit": limit,
                "offset": offset,
                "flaky": filter.flaky if filter else None,
            },
        )
        async with info.context.session() as session:
            found, total = await test_cases.read_test_cases(
                session,
                principal=info.context.principal,
                query=query,
                flaky_window=info.context.flaky_window,
            )
        return TestCasePage(
            items=[TestCase.from_model(row) for row in found],
            total=total,
            limit=query.limit,
            offset=query.offset,
        )

    @strawberry.field(description="One live test case of the project.")
    async def test_case(self, info: Info, id: uuid.UUID) -> TestCase:
        """Read a test case."""
        async with info.context.session() as session:
            row = await test_cases.read_test_case(
                session, principal=info.context.principal, test_case_id=id
            )
        return TestCase.from_model(row)


@strawberry.type
class TestCaseMutation:
    """Test case fields of the Mutation root."""

    __test__ = False

    @strawberry.mutation(description="Record a new test case.")
    async def create_test_case(self, info: Info, input: TestCaseInput) -> TestCase:
        """Create a test case."""
        data = parse(test_cases.TestCaseCreate, input_data(input))
        async with info.context.transaction() as session:
            row = await test_cases.create_test_case(
                session, principal=info.context.principal, data=data
            )
        return TestCase.from_model(row)

    @strawberry.mutation(description="Change a test case; fields left out stay as they are.")
    async def update_test_case(self, info: Info, id: uuid.UUID, input: TestCaseInput) -> TestCase:
        """Update a test case."""
        data = parse(test_cases.TestCaseFields, input_data(input))
        async with info.context.transaction() as session:
            row = await test_cases.update_test_case(
                session, principal=info.context.principal, test_case_id=id, data=data
            )
        return TestCase.from_model(row)

    @strawberry.mutation(description="Delete a test case (soft: past runs keep their results).")
    async def delete_test_case(self, info: Info, id: uuid.UUID) -> TestCase:
        """Soft-delete a test case."""
        async with info.context.transaction() as session:
            row = await test_cases.delete_test_case(
                session, principal=info.context.principal, test_case_id=id
            )
        return TestCase.from_model(row)
