"""testRunSummary and testCaseHistory: the spec's examples, constant statements, scoping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.enums import Role
from tests.factories import make_item, make_schedule, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql
from tests.schema.test_results import (
    ADD_STEPS,
    START,
    client_run,
    steps,
    submission,
    submit,
)

SUMMARY = """
query Summary($id: UUID!) {
  testRunSummary(id: $id) {
    id runName status startedAt completedAt durationMs
    summary {
      totalTests passedTests failedTests skippedTests passRate
      totalSteps passedSteps failedSteps totalCheckpoints passedCheckpoints failedCheckpoints
    }
    items { id testCaseName status durationMs passRate errorMessage }
  }
}
"""
HISTORY = """
query History($id: UUID!, $limit: Int) {
  testCaseHistory(testCaseId: $id, limit: $limit) {
    testCaseId testCaseName total
    history { testRunId runName status executedAt durationMs passRate errorMessage isScheduled }
    statistics { totalExecutions passed failed overallPassRate avgDurationMs }
  }
}
"""


@contextmanager
def counting(connection: AsyncConnection) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection inside the block."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)


def at(ms: int) -> str:
    return (START + timedelta(milliseconds=ms)).isoformat()


async def test_the_summary_is_the_specs_example(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(
        session, editor, ["Login Test", "Search Test", "Checkout Test"], run_name="Smoke Test Run"
    )
    plans: list[dict[str, Any]] = [
        {"status": "PASSED", "startedAt": at(0), "completedAt": at(145_000), "passedSteps": 15},
        {
            "status": "FAILED",
            "startedAt": at(145_000),
            "completedAt": at(345_000),
            "passedSteps": 12,
            "failedSteps": 3,
            "passedCheckpoints": 4,
            "failedCheckpoints": 1,
            "errorMessage": "Element not found: #search-results",
        },
        {
            "status": "PASSED",
            "startedAt": at(345_000),
            "completedAt": at(630_000),
            "passedSteps": 15,
        },
    ]
    for index, plan in enumerate(plans):
        plan.setdefault("passedCheckpoints", 5)
        await submit(client, editor, submission(setup, index, **plan))

    found = data(await gql(client, editor, SUMMARY, id=str(setup.run.id)))["testRunSummary"]

    assert found == {
        "id": str(setup.run.id),
        "runName": "Smoke Test Run",
        "status": "COMPLETED",
        "startedAt": "2026-01-17T10:05:00+00:00",
        "completedAt": "2026-01-17T10:15:30+00:00",
        "durationMs": 630000,
        "summary": {
            "totalTests": 3,
            "passedTests": 2,
            "failedTests": 1,
            "skippedTests": 0,
            "passRate": 66.67,
            "totalSteps": 45,
            "passedSteps": 42,
            "failedSteps": 3,
            "totalCheckpoints": 15,
            "passedCheckpoints": 14,
            "failedCheckpoints": 1,
        },
        "items": [
            {
                "id": str(setup.items[0].id),
                "testCaseName": "Login Test",
                "status": "PASSED",
                "durationMs": 145000,
                "passRate": 100.0,
                "errorMessage": None,
            },
            {
                "id": str(setup.items[1].id),
                "testCaseName": "Search Test",
                "status": "FAILED",
                "durationMs": 200000,
                "passRate": 80.0,
                "errorMessage": "Element not found: #search-results",
            },
            {
                "id": str(setup.items[2].id),
                "testCaseName": "Checkout Test",
                "status": "PASSED",
                "durationMs": 285000,
                "passRate": 100.0,
                "errorMessage": None,
            },
        ],
    }


async def test_the_summary_runs_the_same_statements_for_any_number_of_items(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, connection: AsyncConnection
) -> None:
    now = datetime.now(UTC)
    small = await client_run(session, editor, ["A"], started_at=now)
    large = await client_run(session, editor, [f"Case {n}" for n in range(12)], started_at=now)
    for index in range(6):
        await submit(client, editor, submission(large, index, passedSteps=4))
    await submit(client, editor, submission(small, 0))

    with counting(connection) as for_small:
        data(await gql(client, editor, SUMMARY, id=str(small.run.id)))
    with counting(connection) as for_large:
        found = data(await gql(client, editor, SUMMARY, id=str(large.run.id)))

    assert len(found["testRunSummary"]["items"]) == 12
    assert found["testRunSummary"]["summary"]["totalSteps"] == 24
    assert len(for_large) == len(for_small), (for_small, for_large)
    assert sum("FROM test_run" in statement for statement in for_large) == 2  # run, items


async def test_items_without_results_and_data_driven_items_take_their_rate_from_steps(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Rows"], data_rows=[{"n": 1}, {"n": 2}])
    waiting = await make_test_case(session, editor.project, name="Waiting")
    await make_item(session, setup.run, waiting, status="queued")
    await submit(client, editor, submission(setup, 0, iterationNumber=1, passedSteps=4))
    await submit(
        client,
        editor,
        submission(setup, 0, "FAILED", iterationNumber=2, passedSteps=2, failedSteps=2),
    )

    items = data(await gql(client, editor, SUMMARY, id=str(setup.run.id)))["testRunSummary"][
        "items"
    ]

    assert [(item["testCaseName"], item["status"], item["passRate"]) for item in items] == [
        ("Rows", "FAILED", 75.0),
        ("Waiting", "QUEUED", 0.0),
    ]


async def test_history_lists_executions_newest_first_with_statistics(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    first = await client_run(session, editor, ["Login Test"], run_name="Nightly Regression")
    schedule = await make_schedule(session, editor.project, editor.user)
    first.run.schedule_id = schedule.id
    await session.flush()
    second = await client_run(session, editor, ["Other"], run_name="Smoke Test Run #42")
    second.items[0].test_case_id = first.test_cases[0].id
    await session.flush()
    await submit(
        client,
        editor,
        submission(
            first,
            0,
            "FAILED",
            startedAt=at(-86_400_000),
            durationMs=95_000,
            passedSteps=3,
            failedSteps=1,
            errorMessage="Login button not clickable",
        ),
    )
    await submit(
        client,
        editor,
        {**submission(second, 0, startedAt=at(0), durationMs=145_000, passedSteps=15)},
    )
    case_id = str(first.test_cases[0].id)

    found = data(await gql(client, editor, HISTORY, id=case_id))["testCaseHistory"]

    assert (found["testCaseId"], found["testCaseName"], found["total"]) == (
        case_id,
        "Login Test",
        2,
    )
    assert found["history"] == [
        {
            "testRunId": str(second.run.id),
            "runName": "Smoke Test Run #42",
            "status": "PASSED",
            "executedAt": "2026-01-17T10:05:00+00:00",
            "durationMs": 145000,
            "passRate": 100.0,
            "errorMessage": None,
            "isScheduled": False,
        },
        {
            "testRunId": str(first.run.id),
            "runName": "Nightly Regression",
            "status": "FAILED",
            "executedAt": "2026-01-16T10:05:00+00:00",
            "durationMs": 95000,
            "passRate": 75.0,
            "errorMessage": "Login button not clickable",
            "isScheduled": True,
        },
    ]
    assert found["statistics"] == {
        "totalExecutions": 2,
        "passed": 1,
        "failed": 1,
        "overallPassRate": 50.0,
        "avgDurationMs": 120000,
    }
    limited = data(await gql(client, editor, HISTORY, id=case_id, limit=1))["testCaseHistory"]
    assert (len(limited["history"]), limited["total"]) == (1, 2)


async def test_history_follows_step_rows_and_outlives_a_deleted_test_case(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Login Test"])
    result = await submit(client, editor, submission(setup, 0, "FAILED", passedSteps=10))
    data(await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(1, 1)))
    setup.test_cases[0].deleted_at = START
    await session.flush()

    found = data(await gql(client, editor, HISTORY, id=str(setup.test_cases[0].id)))

    assert found["testCaseHistory"]["history"][0]["passRate"] == 50.0


async def test_reads_are_scoped_and_bounded(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A"])
    stranger = await make_caller(role=Role.ADMIN)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)
    run_id, case_id = str(setup.run.id), str(setup.test_cases[0].id)

    assert error(await gql(client, stranger, SUMMARY, id=run_id)) == {
        "message": f"Test run not found: {run_id}",
        "code": "NOT_FOUND",
    }
    assert error(await gql(client, stranger, HISTORY, id=case_id)) == {
        "message": f"Test case not found: {case_id}",
        "code": "NOT_FOUND",
    }
    assert data(await gql(client, viewer, SUMMARY, id=run_id))["testRunSummary"]["id"] == run_id
    for limit in (0, 101):
        found = error(await gql(client, editor, HISTORY, id=case_id, limit=limit))
        assert found["fields"] == [{"field": "limit", "message": "Must be between 1 and 100"}]
    for query, variables in [(SUMMARY, {"id": "nope"}), (HISTORY, {"id": case_id, "limit": "x"})]:
        body = await gql(client, editor, query, **variables)
        assert {e["extensions"]["code"] for e in body["errors"]} == {"VALIDATION_ERROR"}
