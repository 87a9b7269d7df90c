"""Run items over GraphQL: add, remove, reorder, read, and every refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from tests.factories import make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql
from tests.schema.run_operations import (
    ADD_ITEMS,
    READ,
    READ_ITEM,
    REMOVE_ITEM,
    REORDER,
    create_run,
    event_types,
    ids,
    make_test_cases,
    set_run,
)

DUPLICATE = {"message": "Test case already exists in this run", "code": "CONFLICT"}


async def add(
    client: httpx.AsyncClient, caller: Caller, run_id: str, test_case_ids: list[str]
) -> dict[str, object]:
    return await gql(client, caller, ADD_ITEMS, runId=run_id, testCaseIds=test_case_ids)


async def test_added_items_continue_the_execution_order(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 4)
    run = await create_run(client, editor, testCaseIds=ids(cases[:2]))

    added = data(await add(client, editor, run["id"], ids(cases[2:][::-1])))["addTestRunItems"]

    assert [(item["executionOrder"], item["testCase"]["name"]) for item in added] == [
        (3, "TC4"),
        (4, "TC3"),
    ]
    assert {(item["testRunId"], item["status"]) for item in added} == {(run["id"], "PENDING")}
    read = data(await gql(client, editor, READ, id=run["id"]))["testRun"]
    assert [item["testCase"]["name"] for item in read["items"]] == ["TC1", "TC2", "TC4", "TC3"]
    assert read["totalTests"] == 4
    assert await event_types(session, run["id"]) == ["run.created", "items.added"]


async def test_a_test_case_is_in_a_run_once(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    first, second = await make_test_cases(session, editor.project, 2)
    run = await create_run(client, editor, testCaseIds=ids([first]))

    assert error(await add(client, editor, run["id"], ids([second, first]))) == DUPLICATE
    assert error(await add(client, editor, run["id"], ids([second, second]))) == DUPLICATE
    created = await gql(
        client,
        editor,
        "mutation($input: TestRunInput!) { createTestRun(input: $input) { created } }",
        input={"runName": "x", "testCaseIds": ids([first, first])},
    )
    assert error(created) == DUPLICATE
    read = data(await gql(client, editor, READ, id=run["id"]))["testRun"]
    assert [item["testCaseId"] for item in read["items"]] == [str(first.id)]


async def test_unknown_deleted_and_other_projects_test_cases_are_not_found(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    run = await create_run(client, editor)
    (live,) = await make_test_cases(session, editor.project, 1)
    deleted = await make_test_case(session, editor.project, deleted_at=datetime.now(UTC))
    stranger = await make_caller(role=Role.EDITOR)
    foreign = await make_test_case(session, stranger.project)

    for missing in (str(uuid.uuid4()), str(deleted.id), str(foreign.id)):
        found = error(await add(client, editor, run["id"], [str(live.id), missing]))
        assert found == {"message": f"Test case not found: {missing}", "code": "NOT_FOUND"}
    assert data(await gql(client, editor, READ, id=run["id"]))["testRun"]["items"] == []


async def test_items_change_only_while_the_run_is_pending(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 3)
    run = await create_run(client, editor, testCaseIds=ids(cases[:2]))
    item_ids = [item["id"] for item in run["items"]]
    await set_run(session, run["id"], status="running")

    refusals = {
        "add items to test run": await add(client, editor, run["id"], ids(cases[2:])),
        "remove items from test run": await gql(client, editor, REMOVE_ITEM, id=item_ids[0]),
        "reorder items of test run": await gql(
            client, editor, REORDER, runId=run["id"], itemIds=item_ids[::-1]
        ),
    }
    for action, body in refusals.items():
        assert error(body) == {
            "message": f"Cannot {action}: status is 'running'",
            "code": "INVALID_STATE",
        }


async def test_limits_of_one_call(client: httpx.AsyncClient, editor: Caller) -> None:
    run = await create_run(client, editor)

    for test_case_ids in ([], [str(uuid.uuid4()) for _ in range(1001)]):
        found = error(await add(client, editor, run["id"], test_case_ids))
        assert found["code"] == "VALIDATION_ERROR"
        assert [item["field"] for item in found["fields"]] == ["testCaseIds"]


async def test_remove_takes_the_item_out_and_closes_the_gap(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 3)
    run = await create_run(client, editor, testCaseIds=ids(cases))
    middle = run["items"][1]["id"]

    assert data(await gql(client, editor, REMOVE_ITEM, id=middle)) == {"removeTestRunItem": middle}

    read = data(await gql(client, editor, READ, id=run["id"]))["testRun"]
    assert [(item["executionOrder"], item["testCase"]["name"]) for item in read["items"]] == [
        (1, "TC1"),
        (2, "TC3"),
    ]
    assert read["totalTests"] == 2
    assert error(await gql(client, editor, REMOVE_ITEM, id=middle)) == {
        "message": f"Test run item not found: {middle}",
        "code": "NOT_FOUND",
    }
    assert await event_types(session, run["id"]) == ["run.created", "items.removed"]


async def test_reorder_sets_the_order_given(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 3)
    run = await create_run(client, editor, testCaseIds=ids(cases))
    first, second, third = (item["id"] for item in run["items"])

    reordered = data(
        await gql(client, editor, REORDER, runId=run["id"], itemIds=[third, first, second])
    )["reorderTestRunItems"]

    assert reordered == [
        {"id": third, "executionOrder": 1},
        {"id": first, "executionOrder": 2},
        {"id": second, "executionOrder": 3},
    ]
    read = data(await gql(client, editor, READ, id=run["id"]))["testRun"]
    assert [item["id"] for item in read["items"]] == [third, first, second]
    for wrong in ([third, first], [third, first, first], [third, first, second, str(uuid.uuid4())]):
        found = error(await gql(client, editor, REORDER, runId=run["id"], itemIds=wrong))
        assert found["code"] == "VALIDATION_ERROR"
        assert found["fields"] == [
            {"field": "itemIds", "message": "Must list each of the run's 3 items exactly once"}
        ]


async def test_read_an_item_with_its_test_case_also_once_deleted(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    (case,) = await make_test_cases(session, editor.project, 1)
    run = await create_run(client, editor, testCaseIds=ids([case]))
    item_id = run["items"][0]["id"]
    case.deleted_at = datetime.now(UTC)
    await session.flush()

    item = data(await gql(client, editor, READ_ITEM, id=item_id))["testRunItem"]

    assert item["testRunId"] == run["id"]
    assert (item["status"], item["executionOrder"], item["currentStep"], item["attempt"]) == (
        "PENDING",
        1,
        0,
        0,
    )
    assert (item["vncUrl"], item["claimedBy"], item["heartbeatAt"]) == (None, None, None)
    assert item["testCase"]["name"] == "TC1"
    assert item["testCase"]["deletedAt"] is not None


async def test_another_projects_items_are_not_found(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    cases = await make_test_cases(session, editor.project, 1)
    run = await create_run(client, editor, testCaseIds=ids(cases))
    item_id = run["items"][0]["id"]
    stranger = await make_caller(role=Role.ADMIN)
    own_cases = await make_test_cases(session, stranger.project, 1)

    not_item = {"message": f"Test run item not found: {item_id}", "code": "NOT_FOUND"}
    assert error(await gql(client, stranger, READ_ITEM, id=item_id)) == not_item
    assert error(await gql(client, stranger, REMOVE_ITEM, id=item_id)) == not_item
    not_run = {"message": f"Test run not found: {run['id']}", "code": "NOT_FOUND"}
    assert error(await add(client, stranger, run["id"], ids(own_cases))) == not_run
    reorder = await gql(client, stranger, REORDER, runId=run["id"], itemIds=[item_id])
    assert error(reorder) == not_run


async def test_a_viewer_cannot_change_items(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    cases = await make_test_cases(session, editor.project, 2)
    run = await create_run(client, editor, testCaseIds=ids(cases[:1]))
    item_id = run["items"][0]["id"]
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert data(await gql(client, viewer, READ_ITEM, id=item_id))["testRunItem"]["id"] == item_id
    for body in (
        await add(client, viewer, run["id"], ids(cases[1:])),
        await gql(client, viewer, REMOVE_ITEM, id=item_id),
        await gql(client, viewer, REORDER, runId=run["id"], itemIds=[item_id]),
    ):
        assert error(body)["code"] == "FORBIDDEN"


ADD_THEN_REMOVE = """
mutation Both($runId: UUID!, $add: [UUID!]!, $remove: UUID!) {
  added: addTestRunItems(runId: $runId, testCaseIds: $add) { executionOrder testCase { name } }
  removed: removeTestRunItem(id: $remove)
}
"""


async def test_a_write_after_a_nested_read_in_one_request_keeps_both(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    first, second = await make_test_cases(session, editor.project, 2)
    run = await create_run(client, editor, testCaseIds=ids([first]))
    first_item = run["items"][0]["id"]

    both = data(
        await gql(
            client, editor, ADD_THEN_REMOVE, runId=run["id"], add=ids([second]), remove=first_item
        )
    )
    after = data(await gql(client, editor, READ, id=run["id"]))["testRun"]

    assert both == {
        "added": [{"executionOrder": 2, "testCase": {"name": "TC2"}}],
        "removed": first_item,
    }
    assert [(item["testCase"]["name"], item["executionOrder"]) for item in after["items"]] == [
        ("TC2", 1)
    ]
