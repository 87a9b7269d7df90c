"""testRun reads only the columns a query selects: its answers are still those of the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from models.tenancy import ApiToken
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.databases import StatementCounter
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

STREAM = "https://stream.e2b.example/item"  # another sandbox's live view: answered as stored

NESTED = """
query Run($id: UUID!) {
  testRun(id: $id) {
    runName
    items {
      ...Place
      errorMessage vncUrl errorScreenshotUrl
      case: testCase { name stepCount deletedAt suitePath }
      testCase { id flakeRate }
      first: latestResult { id status }
      again: latestResult { passRate errorMessage retryAttempt videoUrl __typename }
      results { id }
    }
  }
}
fragment Place on TestRunItem { id executionOrder status }
"""


async def test_nested_selections_aliases_and_fragments_answer_what_the_rows_hold(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=1)
    live, gone = (
        await make_test_case(session, editor.project, name="Live"),
        await make_test_case(session, editor.project, name="Gone", proven_steps=[]),
    )
    run = await make_run(session, editor.project, editor.user)
    retried = await make_item(session, run, live, status="passed", vnc_url=STREAM)
    await make_result(session, retried, status="failed", retry_attempt=0, error_message="boom")
    latest = await make_result(
        session, retried, retry_attempt=1, pass_rate=50, created_at=later, total_steps=2
    )
    never = await make_item(session, run, gone, status="failed", error_message="no sandbox")
    await session.execute(
        update(type(gone)).where(type(gone).id == gone.id).values(deleted_at=later)
    )

    found = data(await gql(client, editor, NESTED, id=str(run.id)))["testRun"]["items"]

    assert found == [
        {
            "id": str(retried.id),
            "executionOrder": 1,
            "status": "PASSED",
            "errorMessage": None,
            "vncUrl": STREAM,
            "errorScreenshotUrl": None,
            "case": {
                "name": "Live",
                "stepCount": len(live.proven_steps),
                "deletedAt": None,
                "suitePath": ["ROOT", "Smoke"],
            },
            "testCase": {"id": str(live.id), "flakeRate": 0.0},
            "first": {"id": str(latest.id), "status": "PASSED"},
            "again": {
                "passRate": 50.0,
                "errorMessage": None,
                "retryAttempt": 1,
                "videoUrl": None,
                "__typename": "TestRunResult",
            },
            "results": found[0]["results"],
        },
        {
            "id": str(never.id),
            "executionOrder": 2,
            "status": "FAILED",
            "errorMessage": "no sandbox",
            "vncUrl": None,
            "errorScreenshotUrl": None,
            "case": {
                "name": "Gone",
                "stepCount": 0,
                "deletedAt": later.isoformat(),
                "suitePath": ["ROOT", "Smoke"],
            },
            "testCase": {"id": str(gone.id), "flakeRate": 0.0},
            "first": None,
            "again": None,
            "results": [],
        },
    ]
    assert len(found[0]["results"]) == 2


async def test_items_answer_as_the_single_item_read_of_whole_rows_does(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    # testRunItem(id) builds the item from its whole row; testRun's items from the columns
    # selected. Every plain field of an item, and its nested ones, must agree.
    case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user)
    item = await make_item(session, run, case, status="running", current_step=3, attempt=2)
    await make_result(session, item, status="failed", error_message="timeout", total_steps=4)
    fields = (
        "id testRunId testCaseId executionOrder status startedAt completedAt durationMs"
        " totalSteps passedSteps failedSteps skippedSteps totalCheckpoints passedCheckpoints"
        " failedCheckpoints isDataDriven totalIterations passedIterations failedIterations"
        " retryAttempt maxRetriesExhausted errorMessage errorScreenshotPath resultsFolder"
        " currentStep attempt claimedBy heartbeatAt createdAt updatedAt vncUrl"
        " testCase { id name provenSteps dataRows tags createdAt }"
        " latestResult { id status passRate checkpointPassRate errorMessage totalSteps"
        " environmentInfo capturedDownloads createdAt }"
    )

    in_run = data(
        await gql(
            client,
            editor,
            f"query($id: UUID!) {{ testRun(id: $id) {{ items {{ {fields} }} }} }}",
            id=str(run.id),
        )
    )["testRun"]["items"]
    alone = data(
        await gql(
            client,
            editor,
            f"query($id: UUID!) {{ testRunItem(id: $id) {{ {fields} }} }}",
            id=str(item.id),
        )
    )["testRunItem"]

    assert in_run == [alone]
    assert alone["currentStep"] == 3 and alone["latestResult"]["errorMessage"] == "timeout"


async def test_a_token_revoked_elsewhere_is_refused_on_its_next_run_read(
    client: httpx.AsyncClient, session: AsyncSession, make_caller: MakeCaller
) -> None:
    # Revoked straight in the database, as another api process or the CLI would: nothing
    # this process remembers of the token may let it read again.
    viewer = await make_caller(role=Role.VIEWER)
    run = await make_run(session, viewer.project, viewer.user)
    query = "query($id: UUID!) { testRun(id: $id) { id items { id } } }"
    assert data(await gql(client, viewer, query, id=str(run.id)))["testRun"]["id"] == str(run.id)

    await session.execute(
        update(ApiToken)
        .where(ApiToken.project_id == viewer.project.id)
        .values(revoked_at=datetime.now(UTC))
    )
    refused = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": str(run.id)}},
        headers=viewer.headers,
    )

    assert refused.status_code == 401
    assert refused.json() == {"detail": "Bearer token has been revoked"}


async def test_a_run_without_items_and_another_projects_run_read_with_items(
    client: httpx.AsyncClient, session: AsyncSession, make_caller: MakeCaller
) -> None:
    mine, theirs = await make_caller(), await make_caller()
    empty = await make_run(session, mine.project, mine.user)
    other = await make_run(session, theirs.project, theirs.user)
    query = "query($id: UUID!) { testRun(id: $id) { runName items { id testCase { name } } } }"

    found = data(await gql(client, mine, query, id=str(empty.id)))["testRun"]
    refused = error(await gql(client, mine, query, id=str(other.id)))

    assert found == {"runName": empty.run_name, "items": []}
    assert refused == {"message": f"Test run not found: {other.id}", "code": "NOT_FOUND"}


async def test_the_run_answers_its_fields_when_its_items_share_a_place(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    # The run's columns come on the first of its item rows only; items of the same
    # execution order must not leave the run's fields null.
    run = await make_run(session, editor.project, editor.user, total_tests=3)
    for name in ("A", "B", "C"):
        case = await make_test_case(session, editor.project, name=name)
        await make_item(session, run, case, execution_order=1)
    query = "query($id: UUID!) { testRun(id: $id) { id runName totalTests items { id } } }"

    for _ in range(3):
        found = data(await gql(client, editor, query, id=str(run.id)))["testRun"]
        assert (found["id"], found["runName"], found["totalTests"]) == (
            str(run.id),
            run.run_name,
            3,
        )
        assert len(found["items"]) == 3


async def test_items_under_aliases_with_different_selections_answer_each(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    case = await make_test_case(session, editor.project, name="Only")
    run = await make_run(session, editor.project, editor.user)
    item = await make_item(session, run, case)
    result = await make_result(session, item)
    query = """query($id: UUID!) { testRun(id: $id) {
        a: items { id }
        b: items { status testCase { name } latestResult { id } }
    } }"""

    found = data(await gql(client, editor, query, id=str(run.id)))["testRun"]

    assert found == {
        "a": [{"id": str(item.id)}],
        "b": [
            {
                "status": "PENDING",
                "testCase": {"name": "Only"},
                "latestResult": {"id": str(result.id)},
            }
        ],
    }


async def test_a_run_with_its_items_test_cases_and_latest_results_is_one_statement(
    client: httpx.AsyncClient,
    session: AsyncSession,
    editor: Caller,
    statements: StatementCounter,
) -> None:
    counts = []
    for size in (1, 10):
        run = await make_run(session, editor.project, editor.user)
        for _ in range(size):
            item = await make_item(session, run, await make_test_case(session, editor.project))
            await make_result(session, item)
        await gql(client, editor, "{ me { id } }")  # a token's first use also marks it used
        before = statements.count
        found = data(await gql(client, editor, NESTED, id=str(run.id)))["testRun"]["items"]
        counts.append(statements.count - before)
        assert len(found) == size

    # The token's check, the run with its items, their test cases and latest results;
    # then each result's list and each test case's flakiness: one statement each.
    assert counts[0] == counts[1] == 4
