"""Nested run fields load through DataLoaders: the SQL statements do not grow with the data."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.databases import StatementCounter
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, gql

RUNS_WITH_ITEMS = """
{ testRuns(limit: 20) { items { id runName items {
    id status testCase { name }
    latestResult { status steps { stepNumber } }
    results { id }
} } } }
"""
MAX_STATEMENTS = 10


async def fill(session: AsyncSession, caller: Caller, *, runs: int, items: int) -> None:
    cases = [await make_test_case(session, caller.project) for _ in range(items)]
    for _ in range(runs):
        run = await make_run(session, caller.project, caller.user)
        for case in cases:
            item = await make_item(session, run, case)
            await make_result(session, item, status="failed", retry_attempt=0)
            await make_result(session, item, retry_attempt=1)


async def count(
    client: httpx.AsyncClient, caller: Caller, statements: StatementCounter
) -> tuple[int, list[dict[str, Any]]]:
    await gql(client, caller, "{ me { id } }")  # a token's first use also writes last_used_at
    before = statements.count
    found = data(await gql(client, caller, RUNS_WITH_ITEMS))["testRuns"]["items"]
    return statements.count - before, found


async def test_runs_with_items_and_test_cases_take_a_constant_number_of_statements(
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_caller: MakeCaller,
    statements: StatementCounter,
) -> None:
    small_project, large_project = await make_caller(), await make_caller()
    await fill(session, small_project, runs=2, items=2)
    await fill(session, large_project, runs=20, items=10)

    small, small_runs = await count(client, small_project, statements)
    large, large_runs = await count(client, large_project, statements)

    assert [len(run["items"]) for run in small_runs] == [2] * 2
    assert [len(run["items"]) for run in large_runs] == [10] * 20
    large_items = [item for run in large_runs for item in run["items"]]
    assert all(item["testCase"]["name"] for item in large_items)
    assert all(len(item["results"]) == 2 for item in large_items)
    assert all(item["latestResult"]["status"] == "PASSED" for item in large_items)
    assert small == large, statements.statements[-large:]
    assert large <= MAX_STATEMENTS, statements.statements[-large:]


ITEM_FIELDS_THROUGH_FRAGMENTS = """
fragment Outcome on TestRunItem { latest: latestResult { status } }
query Run($id: UUID!) { testRun(id: $id) {
  items { id ...Outcome ... on TestRunItem { testCase { name } } }
  again: items { results { retryAttempt } }
} }
"""


async def test_nested_item_fields_are_found_through_fragments_and_aliases(
    client: httpx.AsyncClient,
    session: AsyncSession,
    editor: Caller,
    statements: StatementCounter,
) -> None:
    await fill(session, editor, runs=1, items=12)
    run_id = data(await gql(client, editor, "{ testRuns { items { id } } }"))["testRuns"]
    run_id = run_id["items"][0]["id"]

    before = statements.count
    run = data(await gql(client, editor, ITEM_FIELDS_THROUGH_FRAGMENTS, id=run_id))["testRun"]
    executed = statements.count - before

    assert len(run["items"]) == 12
    assert all(item["latest"]["status"] == "PASSED" for item in run["items"])
    assert all(item["testCase"]["name"] for item in run["items"])
    assert all(
        [result["retryAttempt"] for result in item["results"]] == [0, 1] for item in run["again"]
    )
    assert executed <= MAX_STATEMENTS, statements.statements[-executed:]


async def test_one_items_nested_fields_read_through_the_root_field(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    await fill(session, editor, runs=1, items=1)
    runs = data(await gql(client, editor, "{ testRuns { items { items { id } } } }"))
    item_id = runs["testRuns"]["items"][0]["items"][0]["id"]

    item = data(
        await gql(
            client,
            editor,
            """query Item($id: UUID!) { testRunItem(id: $id) {
                testCase { name } latestResult { retryAttempt } results { status } } }""",
            id=item_id,
        )
    )["testRunItem"]

    assert item["testCase"]["name"]
    assert item["latestResult"] == {"retryAttempt": 1}
    assert [result["status"] for result in item["results"]] == ["FAILED", "PASSED"]
