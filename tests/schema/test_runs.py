"""Test runs over GraphQL: create, read, list, update, delete, and every refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE
from models.enums import Role
from models.runs import TestRun, TestRunItem
from tests.factories import make_user
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql
from tests.schema.run_operations import (
    ADD_ITEMS,
    CANCEL,
    CREATE,
    DELETE,
    READ,
    RERUN,
    START,
    STOP,
    UPDATE,
    create_run,
    event_types,
    ids,
    make_test_cases,
    set_run,
)

LIST = """
query List($filter: TestRunFilter, $sort: TestRunSort, $limit: Int! = 20, $offset: Int! = 0) {
  testRuns(filter: $filter, sort: $sort, limit: $limit, offset: $offset) {
    total limit offset items { runName }
  }
}
"""


@pytest.fixture(autouse=True)
def runs_queue(stub_broker: StubBroker) -> None:
    stub_broker.declare_queue(RUNS_QUEUE)


async def test_create_then_read_a_run(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    fields: dict[str, Any] = {
        "runName": "Smoke Test Run",
        "suitePath": ["ROOT", "Regression", "Smoke"],
        "suiteName": "Smoke",
        "parallelEnabled": True,
        "parallelCount": 3,
        "retryOnFailure": True,
        "retryCount": 1,
        "browserName": "firefox",
        "viewportWidth": 1280,
        "viewportHeight": 720,
        "tags": ["smoke", "daily"],
        "notes": "Daily smoke test",
        "scheduledAt": "2030-01-17T10:00:00+02:00",
        "executor": "CLIENT",
        "screenshotEveryStep": True,
        "recordVideo": True,
        "keepTraceOnFailure": True,
        "stepDelayMs": 250,
        "accessibilityScan": True,
    }

    created = await create_run(client, editor, **fields)

    assert {key: created[key] for key in fields} == fields
    assert created["runNumber"] == 1
    assert created["status"] == "PENDING"
    assert created["createdBy"] == str(editor.user.id)
    assert created["projectId"] == str(editor.project.id)
    assert (created["totalTests"], created["passRate"], created["items"]) == (0, 0.0, [])
    read = data(await gql(client, editor, READ, id=created["id"]))["testRun"]
    assert read | {"scheduledAt": None} == created | {"scheduledAt": None}
    assert datetime.fromisoformat(read["scheduledAt"]) == datetime(2030, 1, 17, 8, tzinfo=UTC)
    assert await event_types(session, created["id"]) == ["run.created"]
    second = await create_run(client, editor)
    assert (second["runNumber"], second["executor"], second["parallelCount"]) == (2, "SERVER", 1)
    artifacts = (
        "screenshotEveryStep",
        "recordVideo",
        "keepTraceOnFailure",
        "stepDelayMs",
        "accessibilityScan",
    )
    assert [second[name] for name in artifacts] == [False, False, False, 0, False]


async def test_create_with_test_cases_adds_them_in_order(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 3)

    run = await create_run(client, editor, testCaseIds=ids(cases[::-1]))

    assert run["totalTests"] == 3
    assert [(item["executionOrder"], item["testCase"]["name"]) for item in run["items"]] == [
        (1, "TC3"),
        (2, "TC2"),
        (3, "TC1"),
    ]
    assert {item["status"] for item in run["items"]} == {"PENDING"}


async def test_a_failed_create_leaves_nothing_behind(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    (case,) = await make_test_cases(session, editor.project, 1)
    missing = uuid.uuid4()

    body = await gql(
        client, editor, CREATE, input={"runName": "x", "testCaseIds": [str(case.id), str(missing)]}
    )

    assert error(body) == {"message": f"Test case not found: {missing}", "code": "NOT_FOUND"}
    assert await session.scalar(select(func.count()).select_from(TestRun)) == 0


async def test_an_idempotency_key_returns_the_run_it_created(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    first = data(await gql(client, editor, CREATE, input={"runName": "A"}, key="ci-42"))
    again = data(await gql(client, editor, CREATE, input={"runName": "B"}, key="ci-42"))
    other = await make_caller(role=Role.EDITOR)
    elsewhere = data(await gql(client, other, CREATE, input={"runName": "C"}, key="ci-42"))

    assert first["createTestRun"]["created"] is True
    assert again["createTestRun"] == {"created": False, "run": first["createTestRun"]["run"]}
    assert again["createTestRun"]["run"]["idempotencyKey"] == "ci-42"
    # Keys are per project.
    assert elsewhere["createTestRun"]["created"] is True


async def test_list_filters_each_exclude_what_they_should(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    colleague = await make_user(session)
    specs = [
        ("Nightly 100%", ["ROOT", "Regression"], ["nightly"], datetime(2026, 1, 1, 23, tzinfo=UTC)),
        (
            "Nightly_2",
            ["ROOT", "Regression", "Auth"],
            ["nightly", "slow"],
            datetime(2026, 1, 2, tzinfo=UTC),
        ),
        ("Smoke", ["ROOT", "Smoke"], [], datetime(2026, 1, 3, 12, tzinfo=UTC)),
    ]
    for name, path, tags, created_at in specs:
        run = await create_run(client, editor, runName=name, suitePath=path, tags=tags)
        await set_run(session, run["id"], created_at=created_at)
    await set_run(session, run["id"], status="completed", created_by=colleague.id)

    async def names(**filter: object) -> list[str]:
        found = data(await gql(client, editor, LIST, filter=filter))["testRuns"]
        assert found["total"] == len(found["items"])
        return sorted(item["runName"] for item in found["items"])

    assert await names() == ["Nightly 100%", "Nightly_2", "Smoke"]
    assert await names(status=["COMPLETED"]) == ["Smoke"]
    assert await names(status=["PENDING", "RUNNING"]) == ["Nightly 100%", "Nightly_2"]
    assert await names(suitePath=["ROOT", "Regression"]) == ["Nightly 100%", "Nightly_2"]
    assert await names(suitePath=["ROOT", "Regression", "Auth"]) == ["Nightly_2"]
    assert await names(tags=["nightly", "slow"]) == ["Nightly_2"]
    assert await names(search="nightly") == ["Nightly 100%", "Nightly_2"]
    assert await names(search="%") == ["Nightly 100%"]
    assert await names(search="y_") == ["Nightly_2"]
    assert await names(createdBy=str(colleague.id)) == ["Smoke"]
    assert await names(createdBy=str(editor.user.id)) == ["Nightly 100%", "Nightly_2"]
    assert await names(fromDate="2026-01-02") == ["Nightly_2", "Smoke"]
    assert await names(toDate="2026-01-02") == ["Nightly 100%", "Nightly_2"]
    assert await names(fromDate="2026-01-02", toDate="2026-01-02") == ["Nightly_2"]
    assert await names(fromDate="2026-01-02T00:00:01Z") == ["Smoke"]
    assert await names(toDate="2026-01-02T00:30:00+01:00") == ["Nightly 100%"]


async def test_list_sorts_and_pages_with_stable_ties(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    for day, (name, rate, started) in enumerate(
        [
            ("A", 50, datetime(2026, 1, 2, tzinfo=UTC)),
            ("B", 90, None),
            ("C", 10, datetime(2026, 1, 1, tzinfo=UTC)),
            ("D", 50, datetime(2026, 1, 3, tzinfo=UTC)),
        ],
        start=1,
    ):
        run = await create_run(client, editor, runName=name)
        created_at = datetime(2026, 2, day, tzinfo=UTC)
        await set_run(session, run["id"], pass_rate=rate, started_at=started, created_at=created_at)

    async def page(sort: dict[str, str] | None = None, **paging: int) -> list[str]:
        found = data(await gql(client, editor, LIST, sort=sort, **paging))["testRuns"]
        return [item["runName"] for item in found["items"]]

    assert await page() == ["D", "C", "B", "A"]  # newest first
    assert await page({"field": "STARTED_AT", "order": "DESC"}) == ["D", "A", "C", "B"]
    assert await page({"field": "STARTED_AT", "order": "ASC"}) == ["C", "A", "D", "B"]
    by_rate = await page({"field": "PASS_RATE", "order": "DESC"})
    assert by_rate[0] == "B" and by_rate[-1] == "C" and sorted(by_rate[1:3]) == ["A", "D"]
    assert await page({"field": "PASS_RATE"}) == by_rate
    assert await page({"field": "PASS_RATE", "order": "DESC"}, limit=2, offset=1) == by_rate[1:3]
    found = data(await gql(client, editor, LIST, limit=1, offset=3))["testRuns"]
    assert found == {"total": 4, "limit": 1, "offset": 3, "items": [{"runName": "A"}]}


async def test_update_changes_what_is_given_and_configuration_only_while_pending(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    run = await create_run(client, editor, tags=["a"], browserName="webkit")

    updated = data(
        await gql(client, editor, UPDATE, id=run["id"], input={"parallelCount": 4, "osName": None})
    )["updateTestRun"]
    assert (updated["parallelCount"], updated["tags"], updated["browserName"]) == (
        4,
        ["a"],
        "webkit",
    )

    await set_run(session, run["id"], status="running")
    renamed = data(
        await gql(client, editor, UPDATE, id=run["id"], input={"runName": "B", "notes": "n"})
    )["updateTestRun"]
    assert (renamed["runName"], renamed["notes"], renamed["parallelCount"]) == ("B", "n", 4)
    refused = error(await gql(client, editor, UPDATE, id=run["id"], input={"retryCount": 2}))
    assert refused == {
        "message": "Cannot change the configuration of test run: status is 'running'",
        "code": "INVALID_STATE",
    }
    nulled = error(await gql(client, editor, UPDATE, id=run["id"], input={"runName": None}))
    assert nulled["fields"] == [{"field": "runName", "message": "May not be null"}]
    assert await event_types(session, run["id"]) == ["run.created", "run.updated", "run.updated"]


async def test_delete_removes_the_run_with_its_items_but_not_while_executing(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 2)
    run = await create_run(client, editor, testCaseIds=ids(cases))
    busy = await create_run(client, editor)
    await set_run(session, busy["id"], status="running")

    assert data(await gql(client, editor, DELETE, id=run["id"])) == {"deleteTestRun": run["id"]}
    assert error(await gql(client, editor, READ, id=run["id"])) == {
        "message": f"Test run not found: {run['id']}",
        "code": "NOT_FOUND",
    }
    assert await session.scalar(select(func.count()).select_from(TestRunItem)) == 0
    assert error(await gql(client, editor, DELETE, id=busy["id"])) == {
        "message": "Cannot delete test run: status is 'running'",
        "code": "INVALID_STATE",
    }


async def test_validation_names_every_field(client: httpx.AsyncClient, editor: Caller) -> None:
    cases: list[tuple[dict[str, object], list[str]]] = [
        ({"parallelCount": 0}, ["parallelCount"]),
        ({"parallelCount": 11}, ["parallelCount"]),
        ({"retryCount": -1}, ["retryCount"]),
        ({"viewportWidth": 0, "viewportHeight": -5}, ["viewportHeight", "viewportWidth"]),
        ({"browserName": "netscape"}, ["browserName"]),
        ({"runName": "x" * 256}, ["runName"]),
        ({"runName": "   "}, ["runName"]),
        ({"osName": "x" * 101, "browserVersion": "x" * 51}, ["browserVersion", "osName"]),
        ({"scheduledAt": "2030-01-01T10:00:00"}, ["scheduledAt"]),
        ({"testCaseIds": [str(uuid.uuid4())] * 1001}, ["testCaseIds"]),
        ({"tags": [""]}, ["tags.0"]),
        ({"stepDelayMs": -1}, ["stepDelayMs"]),
        ({"stepDelayMs": 60_001}, ["stepDelayMs"]),
        (
            {"recordVideo": None, "screenshotEveryStep": None},
            ["recordVideo", "screenshotEveryStep"],
        ),
    ]
    for fields, expected in cases:
        found = error(await gql(client, editor, CREATE, input={"runName": "x", **fields}))
        assert found["code"] == "VALIDATION_ERROR", fields
        assert sorted(item["field"] for item in found["fields"]) == expected, found
    between = error(await gql(client, editor, CREATE, input={"runName": "x", "parallelCount": 11}))
    assert between["fields"] == [{"field": "parallelCount", "message": "Must be between 1 and 10"}]
    long_key = error(await gql(client, editor, CREATE, input={"runName": "x"}, key="k" * 256))
    assert long_key["fields"][0]["field"] == "idempotencyKey"


async def test_list_validation(client: httpx.AsyncClient, editor: Caller) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"filter": {"fromDate": "yesterday"}}, "fromDate"),
        ({"filter": {"toDate": "2026-01-01T10:00:00"}}, "toDate"),
        ({"filter": {"search": "x" * 256}}, "search"),
    ]
    for variables, field in cases:
        found = error(await gql(client, editor, LIST, **variables))
        assert (found["code"], [item["field"] for item in found["fields"]]) == (
            "VALIDATION_ERROR",
            [field],
        ), variables


async def test_bad_documents_and_values_are_validation_errors_not_internal(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        (READ, {"id": "not-a-uuid"}),
        (READ, {"id": 12}),
        (DELETE, {"id": "0" * 1000}),
        (LIST, {"limit": "ten"}),
        (LIST, {"filter": {"status": ["NOPE"]}}),
        (LIST, {"filter": {"createdBy": "nope"}}),
        (LIST, {"sort": {"field": "RUN_NAME"}}),
        (CREATE, {"input": {"runName": 5}}),
        (CREATE, {"input": {"runName": "x" * 1_000_000}}),
        (CREATE, {"input": {"runName": "x", "parallelCount": "3"}}),
        (CREATE, {"input": {"runName": "x", "parallelCount": 2**40}}),
        (CREATE, {"input": {"runName": "x", "executor": "ROBOT"}}),
        (CREATE, {"input": {"runName": "x", "testCaseIds": ["nope"]}}),
        (CREATE, {"input": {"runName": "x", "scheduledAt": "soon"}}),
        (CREATE, {"input": {"runName": "x", "unknownField": 1}}),
        (START, {"id": str(uuid.uuid4()), "environment": {"viewportWidth": "wide"}}),
        (ADD_ITEMS, {"runId": str(uuid.uuid4()), "testCaseIds": "nope"}),
    ]
    for query, variables in cases:
        body = await gql(client, editor, query, **variables)
        assert {e["extensions"]["code"] for e in body["errors"]} == {"VALIDATION_ERROR"}, (
            variables,
            body,
        )


async def test_another_projects_run_is_not_found(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    run = await create_run(client, editor)
    stranger = await make_caller(role=Role.ADMIN)
    unknown = str(uuid.uuid4())

    for run_id in (run["id"], unknown):
        for query, variables in [
            (READ, {}),
            (UPDATE, {"input": {"runName": "mine"}}),
            (DELETE, {}),
            (START, {}),
            (STOP, {}),
            (CANCEL, {}),
            (RERUN, {}),
        ]:
            found = error(await gql(client, stranger, query, id=run_id, **variables))
            assert found == {"message": f"Test run not found: {run_id}", "code": "NOT_FOUND"}
    listed = data(await gql(client, stranger, LIST))["testRuns"]
    assert listed["total"] == 0


async def test_a_viewer_reads_but_cannot_change_runs(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    run = await create_run(client, editor)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert data(await gql(client, viewer, READ, id=run["id"]))["testRun"]["id"] == run["id"]
    assert data(await gql(client, viewer, LIST))["testRuns"]["total"] == 1
    attempts: list[tuple[str, dict[str, Any]]] = [
        (CREATE, {"input": {"runName": "x"}}),
        (CREATE, {"input": {"runName": "x"}, "key": "k"}),
        (UPDATE, {"id": run["id"], "input": {"runName": "y"}}),
        (DELETE, {"id": run["id"]}),
        (START, {"id": run["id"]}),
        (STOP, {"id": run["id"]}),
        (CANCEL, {"id": run["id"]}),
        (RERUN, {"id": run["id"]}),
    ]
    for query, variables in attempts:
        assert error(await gql(client, viewer, query, **variables))["code"] == "FORBIDDEN"
