"""A run's life over GraphQL: start, stop, cancel, rerun; the queue messages and the event log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE, START_RUN
from models.runs import TestRunItem
from tests.fixtures.http import Caller
from tests.graphql import data, error, gql
from tests.schema.run_operations import (
    CANCEL,
    RERUN,
    START,
    STOP,
    create_run,
    event_types,
    ids,
    make_test_cases,
    sent,
    set_item_statuses,
    set_run,
)


@pytest.fixture(autouse=True)
def runs_queue(stub_broker: StubBroker) -> None:
    stub_broker.declare_queue(RUNS_QUEUE)


async def started(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, items: int, **fields: Any
) -> dict[str, Any]:
    cases = await make_test_cases(session, editor.project, items)
    run = await create_run(client, editor, testCaseIds=ids(cases), **fields)
    body = await gql(client, editor, START, id=run["id"])
    result: dict[str, Any] = data(body)["startTestRun"]["run"]
    return result


async def test_start_sets_the_run_running_and_hands_a_server_run_to_the_workers(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    cases = await make_test_cases(session, editor.project, 3)
    run = await create_run(client, editor, testCaseIds=ids(cases), browserName="firefox")
    assert sent(stub_broker) == []

    environment = {"browserName": "chromium", "viewportWidth": 1920, "viewportHeight": 1080}
    payload = data(await gql(client, editor, START, id=run["id"], environment=environment))

    result = payload["startTestRun"]
    assert result["message"] == "Test run started with 3 test cases"
    started_run = result["run"]
    assert started_run["status"] == "RUNNING"
    assert started_run["currentItemIndex"] is None
    assert {key: started_run[key] for key in environment} == environment
    started_at = datetime.fromisoformat(started_run["startedAt"])
    assert abs(datetime.now(UTC) - started_at) < timedelta(minutes=1)
    assert [item["status"] for item in started_run["items"]] == ["QUEUED"] * 3
    assert sent(stub_broker) == [(START_RUN, [run["id"]])]
    assert await event_types(session, run["id"]) == ["run.created", "run.started"]
    assert started_run["eventSeq"] == 2


async def test_starting_a_client_run_only_marks_it_running(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    run = await started(client, editor, session, 1, executor="CLIENT")

    assert run["status"] == "RUNNING"
    assert sent(stub_broker) == []


async def test_start_refusals_name_the_state(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    (case,) = await make_test_cases(session, editor.project, 1)
    empty = await create_run(client, editor)
    done = await create_run(client, editor, testCaseIds=ids([case]))
    await set_run(session, done["id"], status="completed")

    assert error(await gql(client, editor, START, id=done["id"])) == {
        "message": "Cannot start test run: status is 'completed'",
        "code": "INVALID_STATE",
    }
    refused = error(await gql(client, editor, START, id=empty["id"]))
    assert refused["code"] == "INVALID_STATE"
    assert "no test cases" in refused["message"]
    invalid = error(
        await gql(
            client,
            editor,
            START,
            id=done["id"],
            environment={"browserName": "lynx", "viewportWidth": 0},
        )
    )
    assert invalid["code"] == "VALIDATION_ERROR"
    assert sorted(item["field"] for item in invalid["fields"]) == ["browserName", "viewportWidth"]
    assert sent(stub_broker) == []
    assert await event_types(session, empty["id"]) == ["run.created"]


async def test_stop_cancels_a_running_run_and_skips_its_unfinished_items(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    run = await started(client, editor, session, 4)
    await set_run(session, run["id"], started_at=datetime.now(UTC) - timedelta(seconds=5))
    await set_item_statuses(session, run["id"], ["passed", "failed", "running", "queued"])

    stopped = data(await gql(client, editor, STOP, id=run["id"]))["stopTestRun"]

    assert stopped["status"] == "CANCELLED"
    assert stopped["completedAt"] is not None
    assert 5_000 <= stopped["durationMs"] < 65_000
    assert [item["status"] for item in stopped["items"]] == [
        "PASSED",
        "FAILED",
        "SKIPPED",
        "SKIPPED",
    ]
    counts = ("totalTests", "passedTests", "failedTests", "skippedTests", "noRunTests", "passRate")
    assert [stopped[key] for key in counts] == [4, 1, 1, 2, 0, 25.0]
    assert sent(stub_broker) == [(START_RUN, [run["id"]])]
    assert await event_types(session, run["id"]) == ["run.created", "run.started", "run.cancelled"]
    ended = await session.scalars(
        select(TestRunItem.completed_at)
        .where(TestRunItem.test_run_id == uuid.UUID(run["id"]))
        .order_by(TestRunItem.execution_order)
    )
    # The running item ended now; the queued one never started.
    assert [value is not None for value in ended] == [False, False, True, False]

    again = error(await gql(client, editor, STOP, id=run["id"]))
    assert again == {
        "message": "Cannot stop test run: status is 'cancelled'",
        "code": "INVALID_STATE",
    }


async def test_stop_refuses_a_run_that_has_not_started(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    run = await create_run(client, editor)

    assert error(await gql(client, editor, STOP, id=run["id"])) == {
        "message": "Cannot stop test run: status is 'pending'",
        "code": "INVALID_STATE",
    }


async def test_cancel_a_pending_run_tells_no_worker(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    cases = await make_test_cases(session, editor.project, 2)
    run = await create_run(client, editor, testCaseIds=ids(cases))

    cancelled = data(await gql(client, editor, CANCEL, id=run["id"]))["cancelTestRun"]

    assert cancelled["status"] == "CANCELLED"
    assert cancelled["durationMs"] == 0
    assert [item["status"] for item in cancelled["items"]] == ["SKIPPED", "SKIPPED"]
    assert (cancelled["skippedTests"], cancelled["passRate"]) == (2, 0.0)
    assert sent(stub_broker) == []
    assert await event_types(session, run["id"]) == ["run.created", "run.cancelled"]


async def test_cancel_tells_workers_only_about_server_runs_and_never_reopens_a_final_run(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, stub_broker: StubBroker
) -> None:
    client_run = await started(client, editor, session, 1, executor="CLIENT")
    server_run = await started(client, editor, session, 1)
    await set_run(session, server_run["id"], status="queued")

    for run in (client_run, server_run):
        cancelled = data(await gql(client, editor, CANCEL, id=run["id"]))["cancelTestRun"]
        assert cancelled["status"] == "CANCELLED"

    assert sent(stub_broker) == [(START_RUN, [server_run["id"]])]
    await set_run(session, client_run["id"], status="completed")
    assert error(await gql(client, editor, CANCEL, id=client_run["id"])) == {
        "message": "Cannot cancel test run: status is 'completed'",
        "code": "INVALID_STATE",
    }


async def test_rerun_makes_a_pending_run_of_the_failed_test_cases(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    cases = await make_test_cases(session, editor.project, 4)
    config: dict[str, Any] = {
        "parallelEnabled": True,
        "parallelCount": 2,
        "browserName": "webkit",
        "tags": ["t"],
    }
    run = await create_run(client, editor, runName="Nightly", testCaseIds=ids(cases), **config)
    await set_run(session, run["id"], status="completed")
    await set_item_statuses(session, run["id"], ["failed", "passed", "failed", "failed"])
    cases[3].deleted_at = datetime.now(UTC)
    await session.flush()

    rerun = data(await gql(client, editor, RERUN, id=run["id"]))["rerunFailedItems"]

    assert rerun["id"] != run["id"]
    assert (rerun["runName"], rerun["runNumber"], rerun["status"]) == (
        "Nightly (rerun)",
        2,
        "PENDING",
    )
    assert {key: rerun[key] for key in config} == config
    # The deleted test case is left out.
    assert [item["testCase"]["name"] for item in rerun["items"]] == ["TC1", "TC3"]
    assert [item["executionOrder"] for item in rerun["items"]] == [1, 2]
    assert rerun["totalTests"] == 2


async def test_rerun_refuses_unfinished_runs_and_runs_without_failures(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    run = await started(client, editor, session, 1)

    assert error(await gql(client, editor, RERUN, id=run["id"])) == {
        "message": "Cannot rerun failed items of test run: status is 'running'",
        "code": "INVALID_STATE",
    }
    await set_run(session, run["id"], status="completed")
    await set_item_statuses(session, run["id"], ["passed"])
    refused = error(await gql(client, editor, RERUN, id=run["id"]))
    assert refused["code"] == "INVALID_STATE"
    assert "no failed items" in refused["message"]
