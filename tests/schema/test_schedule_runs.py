"""runScheduleNow over GraphQL: the run it makes and starts, and the execution it records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE, START_RUN
from models.enums import Role
from tests.factories import make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql
from tests.schema.run_operations import sent

CREATE = "mutation Create($input: ScheduleInput!) { createSchedule(input: $input) { id } }"
RUN_NOW = """
mutation RunNow($id: UUID!) {
  runScheduleNow(id: $id) {
    id scheduleId testRunId status scheduledFor executedAt totalTests
  }
}
"""
RUN = """
query Run($id: UUID!) {
  testRun(id: $id) {
    runName status scheduleId suitePath parallelEnabled parallelCount retryOnFailure retryCount
    priority
    items { status executionOrder testCase { name } }
  }
}
"""
SCHEDULE = """
query Schedule($id: UUID!) {
  schedule(id: $id) {
    executionCount lastExecutedAt lastExecutionStatus nextExecutionAt
    history { testRunId status }
  }
}
"""


@pytest.fixture(autouse=True)
def runs_queue(stub_broker: StubBroker) -> None:
    stub_broker.declare_queue(RUNS_QUEUE)


async def create(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> str:
    base = {
        "scheduleName": "Nightly Regression",
        "suitePath": ["ROOT", "Regression"],
        "scheduledDatetime": "2040-01-18T02:00:00Z",
        "timezone": "America/New_York",
        "repeatType": "DAILY",
    }
    schedule_id: str = data(await gql(client, caller, CREATE, input=base | fields))[
        "createSchedule"
    ]["id"]
    return schedule_id


async def test_a_suite_schedule_runs_its_live_test_cases_by_name_with_its_settings(
    client: httpx.AsyncClient,
    editor: Caller,
    session: AsyncSession,
    make_caller: MakeCaller,
    stub_broker: StubBroker,
) -> None:
    project = editor.project
    await make_test_case(session, project, name="Search", suite_path=["ROOT", "Regression"])
    await make_test_case(session, project, name="Login", suite_path=["ROOT", "Regression", "Auth"])
    await make_test_case(session, project, name="Smoke", suite_path=["ROOT", "Smoke"])
    await make_test_case(
        session,
        project,
        name="Deleted",
        suite_path=["ROOT", "Regression"],
        deleted_at=datetime.now(UTC),
    )
    stranger = await make_caller()
    await make_test_case(
        session, stranger.project, name="Theirs", suite_path=["ROOT", "Regression"]
    )
    schedule_id = await create(
        client,
        editor,
        parallelEnabled=True,
        parallelCount=3,
        retryOnFailure=True,
        retryCount=2,
        priority=7,
    )
    before = datetime.now(UTC)

    execution = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]

    assert execution["scheduleId"] == schedule_id
    assert (execution["status"], execution["totalTests"]) == ("RUNNING", 2)
    due = datetime.fromisoformat(execution["scheduledFor"])
    assert before <= due <= datetime.now(UTC)
    assert execution["executedAt"] == execution["scheduledFor"]
    run = data(await gql(client, editor, RUN, id=execution["testRunId"]))["testRun"]
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert run["runName"] == f"Nightly Regression {local:%Y-%m-%d %H:%M}"
    assert re.fullmatch(r"Nightly Regression \d{4}-\d\d-\d\d \d\d:\d\d", run["runName"])
    assert run["status"] == "RUNNING"
    assert run["scheduleId"] == schedule_id
    assert run["suitePath"] == ["ROOT", "Regression"]
    assert (run["parallelEnabled"], run["parallelCount"]) == (True, 3)
    assert (run["retryOnFailure"], run["retryCount"]) == (True, 2)
    assert run["priority"] == 7  # a schedule's runs get its priority
    assert [(item["executionOrder"], item["testCase"]["name"]) for item in run["items"]] == [
        (1, "Login"),
        (2, "Search"),
    ]
    assert {item["status"] for item in run["items"]} == {"QUEUED"}
    assert sent(stub_broker) == [(START_RUN, [execution["testRunId"]])]


async def test_run_now_is_recorded_but_is_not_an_occurrence(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    await make_test_case(session, editor.project, suite_path=["ROOT", "Regression"])
    schedule_id = await create(client, editor, maxOccurrences=1)
    before = data(await gql(client, editor, SCHEDULE, id=schedule_id))["schedule"]

    first = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]
    second = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]

    after = data(await gql(client, editor, SCHEDULE, id=schedule_id))["schedule"]
    assert after["executionCount"] == 0
    assert after["nextExecutionAt"] == before["nextExecutionAt"]
    assert after["lastExecutionStatus"] == "running"
    assert datetime.fromisoformat(after["lastExecutedAt"]) > datetime.now(UTC) - timedelta(
        minutes=1
    )
    assert after["history"] == [
        {"testRunId": second["testRunId"], "status": "RUNNING"},
        {"testRunId": first["testRunId"], "status": "RUNNING"},
    ]
    assert first["testRunId"] != second["testRunId"]


async def test_chosen_test_cases_run_in_the_schedules_order_without_deleted_ones(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    zulu = await make_test_case(session, editor.project, name="Zulu")
    alpha = await make_test_case(session, editor.project, name="Alpha")
    gone = await make_test_case(session, editor.project, name="Gone")
    schedule_id = await create(
        client, editor, suitePath=None, testCaseIds=[str(zulu.id), str(gone.id), str(alpha.id)]
    )
    gone.deleted_at = datetime.now(UTC)
    await session.flush()

    execution = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]

    run = data(await gql(client, editor, RUN, id=execution["testRunId"]))["testRun"]
    assert [item["testCase"]["name"] for item in run["items"]] == ["Zulu", "Alpha"]


async def test_a_paused_schedule_may_run_now(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    await make_test_case(session, editor.project, suite_path=["ROOT", "Regression"])
    schedule_id = await create(client, editor)
    await gql(
        client, editor, "mutation($id: UUID!) { pauseSchedule(id: $id) { id } }", id=schedule_id
    )

    execution = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]

    assert execution["status"] == "RUNNING"


async def test_a_schedule_with_nothing_to_run_is_refused(
    client: httpx.AsyncClient, editor: Caller, stub_broker: StubBroker
) -> None:
    schedule_id = await create(client, editor)

    found = error(await gql(client, editor, RUN_NOW, id=schedule_id))

    assert found == {
        "message": "Cannot run schedule: it selects no live test cases",
        "code": "INVALID_STATE",
    }
    assert sent(stub_broker) == []


async def test_other_projects_and_viewers_cannot_run_a_schedule(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    await make_test_case(session, editor.project, suite_path=["ROOT", "Regression"])
    schedule_id = await create(client, editor)
    stranger = await make_caller(role=Role.ADMIN)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert error(await gql(client, stranger, RUN_NOW, id=schedule_id)) == {
        "message": f"Schedule not found: {schedule_id}",
        "code": "NOT_FOUND",
    }
    assert error(await gql(client, viewer, RUN_NOW, id=schedule_id))["code"] == "FORBIDDEN"
    assert error(await gql(client, editor, RUN_NOW, id="nope"))["code"] == "VALIDATION_ERROR"


async def test_deleting_the_schedule_keeps_its_runs(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    await make_test_case(session, editor.project, suite_path=["ROOT", "Regression"])
    schedule_id = await create(client, editor)
    execution = data(await gql(client, editor, RUN_NOW, id=schedule_id))["runScheduleNow"]

    await gql(
        client, editor, "mutation($id: UUID!) { deleteSchedule(id: $id) { id } }", id=schedule_id
    )

    run = data(await gql(client, editor, RUN, id=execution["testRunId"]))["testRun"]
    assert (run["status"], run["scheduleId"]) == ("RUNNING", None)
