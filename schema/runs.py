"""GraphQL types and root fields of test runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import enums
from models import runs as rows
from resolvers import run_inputs, runs
from resolvers.item_rows import load_item_rows_by_run, read_run_with_item_rows
from resolvers.results import load_results_by_run
from resolvers.validation import parse
from schema.context import Info
from schema.conversion import input_data, selected_names
from schema.enums import Executor, RunStatus
from schema.items import ItemMutation, ItemQuery, TestRunItem, item_columns
from schema.projection import Projection, by_value
from schema.results import TestRunResult
from schema.run_inputs import (
    StartTestRunInput,
    TestRunFilter,
    TestRunInput,
    TestRunSort,
    TestRunUpdateInput,
)
from schema.scalars import Long


@strawberry.type(description="A batch execution of test cases: configuration, status, counts.")
class TestRun:
    """GraphQL view of a test run."""

    __test__ = False  # not a pytest class, despite its name
    id: uuid.UUID = strawberry.field(description="Run id.")
    run_name: str = strawberry.field(description="Name shown in lists and reports.")
    run_number: int = strawberry.field(description="Sequential number in the project, from 1.")
    project_id: uuid.UUID = strawberry.field(description="Project it belongs to.")
    created_by: uuid.UUID = strawberry.field(description="User who created it.")
    schedule_id: uuid.UUID | None = strawberry.field(description="Schedule that created it.")
    suite_path: list[str] | None = strawberry.field(
        description="Folder path, e.g. [ROOT, Regression, Smoke]."
    )
    suite_name: str | None = strawberry.field(description="Name of the innermost folder.")
    status: enums.RunStatus = strawberry.field(description="Where the run is in its life.")
    executor: enums.Executor = strawberry.field(description="Who executes its test cases.")
    idempotency_key: str | None = strawberry.field(
        description="Key it was created with; creating again with it returns this run."
    )
    scheduled_at: datetime | None = strawberry.field(description="When it is planned to run.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: Long = strawberry.field(description="From start to end, in milliseconds.")
    total_tests: int = strawberry.field(description="Items in the run.")
    passed_tests: int = strawberry.field(description="Items that passed.")
    failed_tests: int = strawberry.field(description="Items that failed.")
    skipped_tests: int = strawberry.field(description="Items skipped (e.g. on cancel).")
    no_run_tests: int = strawberry.field(description="Items without proven steps.")
    pass_rate: float = strawberry.field(description="Passed items in percent, e.g. 66.67.")
    parallel_enabled: bool = strawberry.field(description="Whether items execute in parallel.")
    parallel_count: int = strawberry.field(description="Items executing at once (1-10).")
    retry_count: int = strawberry.field(description="Retries of a failed item.")
    retry_on_failure: bool = strawberry.field(description="Whether failed items are retried.")
    browser_name: str | None = strawberry.field(description="chromium, firefox or webkit.")
    browser_version: str | None = strawberry.field(description="Browser version.")
    os_name: str | None = strawberry.field(description="Operating system.")
    os_version: str | None = strawberry.field(description="Operating system version.")
    viewport_width: int | None = strawberry.field(description="Viewport width in pixels.")
    viewport_height: int | None = strawberry.field(description="Viewport height in pixels.")
    results_folder: str | None = strawberry.field(description="Where its artifacts are stored.")
    report_path: str | None = strawberry.field(description="Its HTML report, once written.")
    tags: list[str] | None = strawberry.field(description="Free labels.")
    notes: str | None = strawberry.field(description="Free notes.")
    screenshot_every_step: bool = strawberry.field(
        description="Whether a screenshot is kept after every step."
    )
    record_video: bool = strawberry.field(description="Whether every result is recorded on video.")
    keep_trace_on_failure: bool = strawberry.field(
        description="Whether failed results keep a Playwright trace."
    )
    step_delay_ms: int = strawberry.field(description="Pause between steps in milliseconds.")
    accessibility_scan: bool = strawberry.field(
        description="Whether every page a result reaches is scanned for accessibility."
    )
    priority: int = strawberry.field(
        description="Higher is served first when items wait for a slot (default 0)."
    )
    event_seq: int = strawberry.field(description="`seq` of its latest event (testRunEvents).")
    current_item_index: int | None = strawberry.field(
        description="Position of the item executing now, while running."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="Its test cases, in execution order.")
    async def items(self, info: Info) -> list[TestRunItem]:
        """Load the items through the request's loader."""
        return await TestRunItem.load_run_items(info, self.id)

    @strawberry.field(description="Every result of the run, in item order then attempt.")
    async def results(self, info: Info) -> list[TestRunResult]:
        """Load the results through the request's loader."""
        found = await info.context.loader(load_results_by_run).load(self.id)
        return [TestRunResult.from_model(row) for row in found]

    @classmethod
    def from_model(cls, row: rows.TestRun) -> TestRun:
        """Build from the ORM row."""
        return cls(
            id=row.id,
            run_name=row.run_name,
            run_number=row.run_number,
            project_id=row.project_id,
            created_by=row.created_by,
            schedule_id=row.schedule_id,
            suite_path=row.suite_path,
            suite_name=row.suite_name,
            status=RunStatus(row.status),
            executor=Executor(row.executor),
            idempotency_key=row.idempotency_key,
            scheduled_at=row.scheduled_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            duration_ms=Long(row.duration_ms),
            total_tests=row.total_tests,
            passed_tests=row.passed_tests,
            failed_tests=row.failed_tests,
            skipped_tests=row.skipped_tests,
            no_run_tests=row.no_run_tests,
            pass_rate=float(row.pass_rate),
            parallel_enabled=row.parallel_enabled,
            parallel_count=row.parallel_count,
            retry_count=row.retry_count,
            retry_on_failure=row.retry_on_failure,
            browser_name=row.browser_name,
            browser_version=row.browser_version,
            os_name=row.os_name,
            os_version=row.os_version,
            viewport_width=row.viewport_width,
            viewport_height=row.viewport_height,
            results_folder=row.results_folder,
            report_path=row.report_path,
            tags=row.tags,
            notes=row.notes,
            screenshot_every_step=row.screenshot_every_step,
            record_video=row.record_video,
            keep_trace_on_failure=row.keep_trace_on_failure,
            step_delay_ms=row.step_delay_ms,
            accessibility_scan=row.accessibility_scan,
            priority=row.priority,
            event_seq=row.event_seq,
            current_item_index=row.current_item_index,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


# Runs read for a query, of the columns it selects (see `Projection`).
RUN_COLUMNS = Projection(
    TestRun,
    rows.TestRun,
    keys=("id",),
    needs={"items": (), "results": ()},
    convert={"status": by_value(RunStatus), "executor": by_value(Executor), "pass_rate": float},
)


@strawberry.type(description="One page of test runs.")
class TestRunPage:
    """A page of runs with the total count."""

    __test__ = False
    items: list[TestRun] = strawberry.field(description="The runs of this page.")
    total: int = strawberry.field(description="How many match in all.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.type(description="What createTestRun did.")
class CreateTestRunPayload:
    """The run, and whether this call created it (false: the idempotency key's earlier run)."""

    run: TestRun = strawberry.field(description="The run.")
    created: bool = strawberry.field(
        description="False when the idempotency key had already created it."
    )


@strawberry.type(description="What startTestRun did.")
class StartTestRunPayload:
    """The started run and a message for people."""

    run: TestRun = strawberry.field(description="The run, now RUNNING.")
    message: str = strawberry.field(description='E.g. "Test run started with 3 test cases".')


@strawberry.type
class RunQuery(ItemQuery):
    """Run fields of the Query root."""

    @strawberry.field(description="The project's runs, newest first unless sorted otherwise.")
    async def test_runs(
        self,
        info: Info,
        filter: TestRunFilter | None = None,
        sort: TestRunSort | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> TestRunPage:
        """List runs."""
        order = input_data(sort or TestRunSort())
        query = parse(
            run_inputs.TestRunFilter,
            {
                **(input_data(filter) if filter else {}),
                "sort_by": order["field"],
                "sort_order": order["order"],
                "limit": limit,
                "offset": offset,
            },
        )
        async with info.context.session() as session:
            found, total = await runs.read_test_runs(
                session, principal=info.context.principal, query=query
            )
        return TestRunPage(
            items=[TestRun.from_model(row) for row in found],
            total=total,
            limit=query.limit,
            offset=query.offset,
        )

    @strawberry.field(description="One run of the project.")
    async def test_run(self, info: Info, id: uuid.UUID) -> TestRun:
        """Read a run; with its items, in the same statement, when they are selected."""
        wanted = selected_names(info)
        if "items" not in wanted:
            async with info.context.session() as session:
                row = await runs.read_test_run(session, principal=info.context.principal, run_id=id)
            return TestRun.from_model(row)
        run_columns, columns = RUN_COLUMNS.columns(wanted), item_columns(info, "items")
        async with info.context.session() as session:
            run, found = await read_run_with_item_rows(
                session,
                principal=info.context.principal,
                run_id=id,
                run_columns=run_columns,
                columns=columns,
            )
        # `items` asks its loader for what was just read (see `TestRunItem.load_run_items`).
        info.context.column_loader(load_item_rows_by_run, columns).prime(id, found)
        return RUN_COLUMNS.build(run_columns, run)


@strawberry.type
class RunMutation(ItemMutation):
    """Run fields of the Mutation root."""

    @strawberry.mutation(
        description="Create a pending run. With `idempotencyKey`, a repeat returns the first run."
    )
    async def create_test_run(
        self, info: Info, input: TestRunInput, idempotency_key: str | None = None
    ) -> CreateTestRunPayload:
        """Create a run."""
        data = parse(run_inputs.TestRunCreate, input_data(input))
        async with info.context.transaction() as session:
            row, created = await runs.create_test_run(
                session,
                principal=info.context.principal,
                data=data,
                idempotency_key=idempotency_key,
            )
        return CreateTestRunPayload(run=TestRun.from_model(row), created=created)

    @strawberry.mutation(description="Change a run; its configuration only while PENDING.")
    async def update_test_run(
        self, info: Info, id: uuid.UUID, input: TestRunUpdateInput
    ) -> TestRun:
        """Update a run."""
        data = parse(run_inputs.TestRunUpdate, input_data(input))
        async with info.context.transaction() as session:
            row = await runs.update_test_run(
                session, principal=info.context.principal, run_id=id, data=data
            )
        return TestRun.from_model(row)

    @strawberry.mutation(description="Delete a run that is not executing; returns its id.")
    async def delete_test_run(self, info: Info, id: uuid.UUID) -> uuid.UUID:
        """Delete a run with its items and results."""
        async with info.context.transaction() as session:
            return await runs.delete_test_run(session, principal=info.context.principal, run_id=id)

    @strawberry.mutation(description="Start a PENDING run: RUNNING, its items QUEUED.")
    async def start_test_run(
        self, info: Info, id: uuid.UUID, environment: StartTestRunInput | None = None
    ) -> StartTestRunPayload:
        """Start a run."""
        options = parse(run_inputs.StartOptions, input_data(environment) if environment else {})
        async with info.context.transaction() as session:
            row, message = await runs.start_test_run(
                session,
                principal=info.context.principal,
                run_id=id,
                options=options,
                dispatcher=info.context.dispatcher,
            )
        return StartTestRunPayload(run=TestRun.from_model(row), message=message)

    @strawberry.mutation(description="Stop a QUEUED or RUNNING run: CANCELLED, open items SKIPPED.")
    async def stop_test_run(self, info: Info, id: uuid.UUID) -> TestRun:
        """Stop a run."""
        async with info.context.transaction() as session:
            row = await runs.stop_test_run(session, principal=info.context.principal, run_id=id)
        return TestRun.from_model(row)

    @strawberry.mutation(
        description="Cancel a run that has not ended: CANCELLED, open items SKIPPED."
    )
    async def cancel_test_run(self, info: Info, id: uuid.UUID) -> TestRun:
        """Cancel a run."""
        async with info.context.transaction() as session:
            row = await runs.cancel_test_run(session, principal=info.context.principal, run_id=id)
        return TestRun.from_model(row)

    @strawberry.mutation(
        description="A new PENDING run, configured like this ended run, of its failed test cases."
    )
    async def rerun_failed_items(self, info: Info, id: uuid.UUID) -> TestRun:
        """Rerun a run's failed items."""
        async with info.context.transaction() as session:
            row = await runs.rerun_failed_items(
                session, principal=info.context.principal, run_id=id
            )
        return TestRun.from_model(row)
