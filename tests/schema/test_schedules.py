"""Schedules over GraphQL: timing in zones, pause and resume, pending, history, refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import ScheduleExecution
from models.enums import Role
from tests.factories import make_schedule, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

FIELDS = """
id scheduleName status isEnabled repeatType timezone scheduledDatetime nextExecutionAt
repeatInterval repeatUnit repeatDaysOfWeek repeatDayOfMonth repeatEndDate maxOccurrences
suitePath testCaseIds parallelEnabled parallelCount retryOnFailure retryCount
notifyOnCompletion notifyOnFailure notificationEmails executionCount createdBy
"""
CREATE = (
    f"mutation Create($input: ScheduleInput!) {{ createSchedule(input: $input) {{ {FIELDS} }} }}"
)
UPDATE = f"""
mutation Update($id: UUID!, $input: ScheduleInput!) {{
  updateSchedule(id: $id, input: $input) {{ {FIELDS} }}
}}
"""
READ = f"query Read($id: UUID!) {{ schedule(id: $id) {{ {FIELDS} }} }}"
DELETE = "mutation Delete($id: UUID!) { deleteSchedule(id: $id) { id scheduleName } }"
PAUSE = "mutation Pause($id: UUID!) { pauseSchedule(id: $id) { status nextExecutionAt } }"
RESUME = "mutation Resume($id: UUID!) { resumeSchedule(id: $id) { status nextExecutionAt } }"
LIST = """
query List($filter: ScheduleFilter, $limit: Int! = 20, $offset: Int! = 0) {
  schedules(filter: $filter, limit: $limit, offset: $offset) {
    total limit offset items { scheduleName }
  }
}
"""
PENDING = """
query Pending($limit: Int! = 20) {
  pendingSchedules(limit: $limit) { total items { scheduleName } }
}
"""
HISTORY = """
query History($id: UUID!, $limit: Int! = 20, $offset: Int! = 0) {
  schedule(id: $id) { history(limit: $limit, offset: $offset) { scheduledFor status testRunId } }
}
"""
SPEC_EXAMPLE = {
    "scheduleName": "Nightly Regression",
    "suitePath": ["ROOT", "Regression"],
    "suiteName": "Regression",
    "scheduledDatetime": "2040-01-18T02:00:00Z",
    "timezone": "America/New_York",
    "repeatType": "DAILY",
    "parallelEnabled": True,
    "parallelCount": 5,
    "retryOnFailure": True,
    "retryCount": 2,
    "notifyOnFailure": True,
    "notificationEmails": ["team@example.com"],
}


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


async def create(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> dict[str, Any]:
    base = {
        "scheduleName": "Nightly",
        "suitePath": ["ROOT", "Regression"],
        "scheduledDatetime": "2040-01-18T02:00:00Z",
    }
    created: dict[str, Any] = data(await gql(client, caller, CREATE, input=base | fields))[
        "createSchedule"
    ]
    return created


async def add_execution(
    session: AsyncSession, schedule_id: str, scheduled_for: datetime, **columns: Any
) -> ScheduleExecution:
    execution = ScheduleExecution(
        schedule_id=uuid.UUID(schedule_id),
        scheduled_for=scheduled_for,
        status=columns.pop("status", "completed"),
        **columns,
    )
    session.add(execution)
    await session.flush()
    return execution


async def test_the_specs_example_is_due_at_two_in_the_morning_new_york_time(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, **SPEC_EXAMPLE)

    assert at(created["nextExecutionAt"]) == datetime(2040, 1, 18, 7, tzinfo=UTC)
    assert at(created["scheduledDatetime"]) == datetime(2040, 1, 18, 2, tzinfo=UTC)
    assert created["status"] == "ACTIVE"
    assert created["isEnabled"] is True
    assert created["createdBy"] == str(editor.user.id)
    assert (created["parallelCount"], created["retryCount"]) == (5, 2)
    assert created["notificationEmails"] == ["team@example.com"]
    assert created["notifyOnCompletion"] is True
    read = data(await gql(client, editor, READ, id=created["id"]))["schedule"]
    assert read == created


async def test_the_offset_the_time_is_written_with_does_not_matter(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(
        client, editor, scheduledDatetime="2040-01-18T02:00:00+09:00", timezone="America/New_York"
    )

    assert at(created["scheduledDatetime"]) == datetime(2040, 1, 18, 2, tzinfo=UTC)
    assert at(created["nextExecutionAt"]) == datetime(2040, 1, 18, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timezone": "Asia/Tokyo"}, datetime(2040, 1, 17, 17)),
        (
            {"timezone": "Europe/Berlin", "repeatType": "HOURLY"},
            datetime(2040, 1, 18, 1),
        ),
        (  # Wednesday 2040-01-18; the first Friday is the 20th, 09:00 New York time
            {
                "scheduledDatetime": "2040-01-18T09:00:00Z",
                "timezone": "America/New_York",
                "repeatType": "WEEKLY",
                "repeatDaysOfWeek": [5, 7],
            },
            datetime(2040, 1, 20, 14),
        ),
        (  # the 31st, clamped to the 29th in February 2040
            {
                "scheduledDatetime": "2040-02-10T08:00:00Z",
                "repeatType": "MONTHLY",
                "repeatDayOfMonth": 31,
            },
            datetime(2040, 2, 29, 8),
        ),
        (
            {"repeatType": "CUSTOM", "repeatInterval": 90, "repeatUnit": "MINUTES"},
            datetime(2040, 1, 18, 2),
        ),
        (  # 02:30 does not exist on 2040-03-11 in New York: it fires at 03:00 EDT
            {
                "scheduledDatetime": "2040-03-11T02:30:00Z",
                "timezone": "America/New_York",
                "repeatType": "DAILY",
            },
            datetime(2040, 3, 11, 7),
        ),
        (  # 01:30 happens twice on 2040-11-04 in New York: the first, EDT
            {
                "scheduledDatetime": "2040-11-04T01:30:00Z",
                "timezone": "America/New_York",
                "repeatType": "DAILY",
            },
            datetime(2040, 11, 4, 5, 30),
        ),
    ],
)
async def test_each_repeat_type_is_due_at_its_first_occurrence(
    client: httpx.AsyncClient, editor: Caller, fields: dict[str, Any], expected: datetime
) -> None:
    created = await create(client, editor, **fields)

    assert at(created["nextExecutionAt"]) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "step"),
    [
        ({"repeatType": "HOURLY"}, timedelta(hours=1)),
        ({"repeatType": "CUSTOM", "repeatInterval": 7, "repeatUnit": "HOURS"}, timedelta(hours=7)),
        (
            {"repeatType": "CUSTOM", "repeatInterval": 45, "repeatUnit": "MINUTES"},
            timedelta(minutes=45),
        ),
    ],
)
async def test_a_past_start_steps_on_to_the_next_occurrence_after_now(
    client: httpx.AsyncClient, editor: Caller, fields: dict[str, Any], step: timedelta
) -> None:
    start = ago(days=10).replace(second=0, microsecond=0)

    created = await create(client, editor, scheduledDatetime=start.isoformat(), **fields)

    due = at(created["nextExecutionAt"])
    assert datetime.now(UTC) - timedelta(seconds=5) <= due <= datetime.now(UTC) + step
    assert (due - start) % step == timedelta(0)


async def test_a_past_daily_start_is_due_at_the_same_local_time_after_now(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = ago(days=400).astimezone(zone).replace(hour=2, minute=0, second=0, microsecond=0)

    created = await create(
        client,
        editor,
        scheduledDatetime=start.replace(tzinfo=UTC).isoformat(),
        timezone="Europe/Berlin",
        repeatType="DAILY",
    )

    due = at(created["nextExecutionAt"])
    assert datetime.now(UTC) <= due <= datetime.now(UTC) + timedelta(days=1)
    assert due.astimezone(zone).time().hour in (2, 3)  # 03:00 only on a spring-forward day


async def test_a_one_time_schedule_in_the_past_is_refused(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    body = await gql(
        client,
        editor,
        CREATE,
        input={
            "scheduleName": "x",
            "suitePath": ["ROOT"],
            "scheduledDatetime": "2020-01-01T00:00:00Z",
        },
    )

    found = error(body)
    assert found["code"] == "VALIDATION_ERROR"
    assert [item["field"] for item in found["fields"]] == ["scheduledDatetime"]


async def test_test_case_ids_must_be_the_projects_live_test_cases(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    mine = await make_test_case(session, editor.project)
    deleted = await make_test_case(session, editor.project, deleted_at=datetime.now(UTC))
    stranger = await make_caller()
    theirs = await make_test_case(session, stranger.project)

    created = await create(client, editor, suitePath=None, testCaseIds=[str(mine.id)])

    assert created["testCaseIds"] == [str(mine.id)]
    for other in (deleted.id, theirs.id, uuid.uuid4()):
        body = await gql(
            client,
            editor,
            CREATE,
            input={
                "scheduleName": "x",
                "testCaseIds": [str(mine.id), str(other)],
                "scheduledDatetime": "2040-01-01T00:00:00Z",
            },
        )
        assert error(body) == {"message": f"Test case not found: {other}", "code": "NOT_FOUND"}


VALIDATION_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"suitePath": None}, ["suitePath", "testCaseIds"]),
    ({"suitePath": []}, ["suitePath"]),
    ({"testCaseIds": []}, ["testCaseIds"]),
    ({"scheduleName": " "}, ["scheduleName"]),
    ({"scheduleName": "x" * 256}, ["scheduleName"]),
    ({"suiteName": "x" * 256}, ["suiteName"]),
    ({"scheduledDatetime": "2040-01-18T02:00:00"}, ["scheduledDatetime"]),
    ({"scheduledDatetime": "1960-01-18T02:00:00Z"}, ["scheduledDatetime"]),
    ({"scheduledDatetime": None}, ["scheduledDatetime"]),
    ({"timezone": "Mars/Olympus_Mons"}, ["timezone"]),
    ({"timezone": None}, ["timezone"]),
    ({"repeatType": "WEEKLY"}, ["repeatDaysOfWeek"]),
    ({"repeatType": "MONTHLY"}, ["repeatDayOfMonth"]),
    ({"repeatType": "CUSTOM"}, ["repeatInterval", "repeatUnit"]),
    ({"repeatType": "CUSTOM", "repeatInterval": 0, "repeatUnit": "DAYS"}, ["repeatInterval"]),
    ({"repeatType": "DAILY", "repeatDaysOfWeek": [1]}, ["repeatDaysOfWeek"]),
    ({"repeatType": "DAILY", "repeatDayOfMonth": 1}, ["repeatDayOfMonth"]),
    ({"repeatType": "WEEKLY", "repeatInterval": 2, "repeatDaysOfWeek": [1]}, ["repeatInterval"]),
    ({"repeatType": "HOURLY", "repeatUnit": "HOURS"}, ["repeatUnit"]),
    (
        {"repeatType": "WEEKLY", "repeatDaysOfWeek": [0, 8]},
        ["repeatDaysOfWeek.0", "repeatDaysOfWeek.1"],
    ),
    ({"repeatType": "WEEKLY", "repeatDaysOfWeek": [1, 1]}, ["repeatDaysOfWeek"]),
    ({"repeatType": "WEEKLY", "repeatDaysOfWeek": []}, ["repeatDaysOfWeek"]),
    ({"repeatType": "MONTHLY", "repeatDayOfMonth": 32}, ["repeatDayOfMonth"]),
    ({"repeatType": "MONTHLY", "repeatDayOfMonth": 0}, ["repeatDayOfMonth"]),
    ({"maxOccurrences": 3}, ["maxOccurrences"]),
    ({"repeatEndDate": "2041-01-01T00:00:00Z"}, ["repeatEndDate"]),
    ({"repeatType": "DAILY", "maxOccurrences": 0}, ["maxOccurrences"]),
    ({"repeatType": "DAILY", "repeatEndDate": "2040-01-17T00:00:00Z"}, ["repeatEndDate"]),
    ({"parallelCount": 0}, ["parallelCount"]),
    ({"parallelCount": 11}, ["parallelCount"]),
    ({"retryCount": -1}, ["retryCount"]),
    ({"retryCount": 11}, ["retryCount"]),
    ({"parallelEnabled": None}, ["parallelEnabled"]),
    ({"notificationEmails": ["team@example.com", "not an address"]}, ["notificationEmails.1"]),
    ({"notificationEmails": [f"u{n}@example.com" for n in range(51)]}, ["notificationEmails"]),
    ({"testCaseIds": [str(uuid.UUID(int=1))] * 2}, ["testCaseIds"]),
]


@pytest.mark.parametrize(("fields", "named"), VALIDATION_CASES)
async def test_every_rule_names_its_field(
    client: httpx.AsyncClient, editor: Caller, fields: dict[str, Any], named: list[str]
) -> None:
    body = await gql(
        client,
        editor,
        CREATE,
        input={
            "scheduleName": "x",
            "suitePath": ["ROOT"],
            "scheduledDatetime": "2040-01-18T02:00:00Z",
        }
        | fields,
    )

    found = error(body)
    assert found["code"] == "VALIDATION_ERROR", found
    assert sorted(item["field"] for item in found["fields"]) == named, found


async def test_malformed_input_is_a_validation_error_never_internal(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor)
    base = {"scheduleName": "x", "suitePath": ["ROOT"], "scheduledDatetime": "2040-01-18T02:00:00Z"}
    cases: list[tuple[str, dict[str, Any]]] = [
        (READ, {"id": "not-a-uuid"}),
        (READ, {"id": 7}),
        (HISTORY, {"id": created["id"], "limit": 101}),
        (HISTORY, {"id": created["id"], "offset": -1}),
        (LIST, {"limit": 0}),
        (LIST, {"filter": {"status": "SLEEPING"}}),
        (LIST, {"filter": {"fromDate": "yesterday"}}),
        (LIST, {"filter": {"fromDate": "2040-01-01T00:00:00"}}),
        (PENDING, {"limit": 1000}),
        (CREATE, {"input": base | {"scheduledDatetime": "next tuesday"}}),
        (CREATE, {"input": base | {"scheduledDatetime": "99999-01-01T00:00:00Z"}}),
        (CREATE, {"input": base | {"repeatType": "FORTNIGHTLY"}}),
        (CREATE, {"input": base | {"timezone": "x" * 100_000}}),
        (CREATE, {"input": base | {"scheduleName": "x" * 1_000_000}}),
        (CREATE, {"input": base | {"testCaseIds": ["nope"]}}),
        (CREATE, {"input": base | {"repeatDaysOfWeek": "monday"}}),
        (CREATE, {"input": base | {"maxOccurrences": 2**40}}),
        (CREATE, {"input": base | {"notificationEmails": [5]}}),
        (CREATE, {"input": base | {"bogus": 1}}),
        (UPDATE, {"id": created["id"], "input": {"repeatInterval": 10**9}}),
        (UPDATE, {"id": created["id"], "input": {"scheduledDatetime": "9999-12-31T23:59:59Z"}}),
    ]
    for query, variables in cases:
        body = await gql(client, editor, query, **variables)
        assert "errors" in body, (query, variables, body)
        codes = {item["extensions"]["code"] for item in body["errors"]}
        assert codes == {"VALIDATION_ERROR"}, (query, variables, body)


async def test_update_recomputes_the_next_execution_when_the_timing_changes(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, **SPEC_EXAMPLE)

    renamed = data(await gql(client, editor, UPDATE, id=created["id"], input={"scheduleName": "N"}))
    moved = data(
        await gql(client, editor, UPDATE, id=created["id"], input={"timezone": "Europe/Berlin"})
    )

    assert renamed["updateSchedule"]["nextExecutionAt"] == created["nextExecutionAt"]
    assert renamed["updateSchedule"]["scheduleName"] == "N"
    assert at(moved["updateSchedule"]["nextExecutionAt"]) == datetime(2040, 1, 18, 1, tzinfo=UTC)
    assert moved["updateSchedule"]["parallelCount"] == 5


async def test_a_new_repeat_type_clears_the_fields_it_does_not_use(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, repeatType="WEEKLY", repeatDaysOfWeek=[5])

    body = await gql(
        client,
        editor,
        UPDATE,
        id=created["id"],
        input={"repeatType": "MONTHLY", "repeatDayOfMonth": 1},
    )

    updated = data(body)["updateSchedule"]
    assert (updated["repeatDaysOfWeek"], updated["repeatDayOfMonth"]) == (None, 1)
    assert at(updated["nextExecutionAt"]) == datetime(2040, 2, 1, 2, tzinfo=UTC)


async def test_update_validates_the_schedule_it_would_make(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, repeatType="DAILY")

    for fields, named in [
        ({"repeatType": "WEEKLY"}, ["repeatDaysOfWeek"]),
        ({"scheduleName": None}, ["scheduleName"]),
        ({"suitePath": None}, ["suitePath", "testCaseIds"]),
        (
            {"repeatType": "NONE", "scheduledDatetime": "2021-01-01T00:00:00Z"},
            ["scheduledDatetime"],
        ),
        ({"repeatEndDate": "2030-01-01T00:00:00Z"}, ["repeatEndDate"]),
    ]:
        found = error(await gql(client, editor, UPDATE, id=created["id"], input=fields))
        assert found["code"] == "VALIDATION_ERROR", found
        assert sorted(item["field"] for item in found["fields"]) == named, found


async def test_pause_and_resume_move_between_active_and_paused_only(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await create(client, editor, **SPEC_EXAMPLE)

    paused = data(await gql(client, editor, PAUSE, id=created["id"]))["pauseSchedule"]
    again = error(await gql(client, editor, PAUSE, id=created["id"]))
    resumed = data(await gql(client, editor, RESUME, id=created["id"]))["resumeSchedule"]
    twice = error(await gql(client, editor, RESUME, id=created["id"]))

    assert paused == {"status": "PAUSED", "nextExecutionAt": None}
    assert again == {
        "message": "Cannot pause schedule: status is 'paused'",
        "code": "INVALID_STATE",
    }
    assert resumed == {"status": "ACTIVE", "nextExecutionAt": created["nextExecutionAt"]}
    assert twice == {
        "message": "Cannot resume schedule: status is 'active'",
        "code": "INVALID_STATE",
    }


async def test_resume_skips_the_occurrences_missed_while_paused(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    schedule = await make_schedule(
        session,
        editor.project,
        editor.user,
        scheduled_datetime=datetime(2026, 1, 1, 6, 15, tzinfo=UTC),
        timezone="Asia/Kolkata",
        repeat_type="daily",
        status="paused",
        next_execution_at=None,
    )

    resumed = data(await gql(client, editor, RESUME, id=str(schedule.id)))["resumeSchedule"]

    due = at(resumed["nextExecutionAt"])
    assert datetime.now(UTC) <= due <= datetime.now(UTC) + timedelta(days=1)
    assert due.astimezone(ZoneInfo("Asia/Kolkata")).time().isoformat() == "06:15:00"


async def test_resuming_a_schedule_with_nothing_left_completes_it(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    schedule = await make_schedule(
        session,
        editor.project,
        editor.user,
        scheduled_datetime=datetime(2026, 1, 1, tzinfo=UTC),
        status="paused",
    )
    completed = await make_schedule(
        session, editor.project, editor.user, status="completed", next_execution_at=None
    )

    resumed = data(await gql(client, editor, RESUME, id=str(schedule.id)))["resumeSchedule"]
    refused = error(await gql(client, editor, PAUSE, id=str(completed.id)))

    assert resumed == {"status": "COMPLETED", "nextExecutionAt": None}
    assert refused["message"] == "Cannot pause schedule: status is 'completed'"


async def test_pending_lists_active_enabled_due_schedules_oldest_first(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    project, user = editor.project, editor.user
    rows: list[tuple[str, dict[str, Any]]] = [
        ("due recently", {"next_execution_at": ago(minutes=1)}),
        ("due long ago", {"next_execution_at": ago(days=2)}),
        ("future", {"next_execution_at": ago(minutes=-10)}),
        ("paused", {"next_execution_at": ago(hours=1), "status": "paused"}),
        ("disabled", {"next_execution_at": ago(hours=1), "is_enabled": False}),
        ("completed", {"next_execution_at": None, "status": "completed"}),
    ]
    for name, columns in rows:
        await make_schedule(session, project, user, schedule_name=name, **columns)
    stranger = await make_caller()
    await make_schedule(session, stranger.project, stranger.user, next_execution_at=ago(hours=1))

    pending = data(await gql(client, editor, PENDING))["pendingSchedules"]

    assert pending == {
        "total": 2,
        "items": [{"scheduleName": "due long ago"}, {"scheduleName": "due recently"}],
    }


async def test_list_filters_orders_by_next_execution_and_pages(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, make_caller: MakeCaller
) -> None:
    project, user = editor.project, editor.user
    rows: list[tuple[str, dict[str, Any]]] = [
        ("c", {"next_execution_at": datetime(2040, 3, 1, tzinfo=UTC), "repeat_type": "daily"}),
        ("a", {"next_execution_at": datetime(2040, 1, 1, tzinfo=UTC), "repeat_type": "hourly"}),
        ("paused", {"next_execution_at": None, "status": "paused", "repeat_type": "daily"}),
        ("b", {"next_execution_at": datetime(2040, 2, 1, tzinfo=UTC), "is_enabled": False}),
    ]
    for name, columns in rows:
        await make_schedule(session, project, user, schedule_name=name, **columns)
    stranger = await make_caller()
    await make_schedule(session, stranger.project, stranger.user, schedule_name="theirs")

    async def names(**variables: Any) -> tuple[list[str], int]:
        page = data(await gql(client, editor, LIST, **variables))["schedules"]
        return [item["scheduleName"] for item in page["items"]], page["total"]

    assert await names() == (["a", "b", "c", "paused"], 4)
    assert await names(filter={"status": "ACTIVE"}) == (["a", "b", "c"], 3)
    assert await names(filter={"isEnabled": False}) == (["b"], 1)
    assert await names(filter={"repeatType": "DAILY"}) == (["c", "paused"], 2)
    assert await names(filter={"fromDate": "2040-02-01T00:00:00Z"}) == (["b", "c"], 2)
    assert await names(filter={"toDate": "2040-02-01T00:00:00Z"}) == (["a", "b"], 2)
    assert await names(
        filter={"fromDate": "2040-01-15T00:00:00Z", "toDate": "2040-02-15T00:00:00+01:00"}
    ) == (["b"], 1)
    assert await names(filter={"toDate": "2040-01-31"}) == (["a"], 1)  # the whole UTC day
    assert await names(filter={"fromDate": "2040-01-01", "toDate": "2040-02-01"}) == (["a", "b"], 2)
    assert await names(limit=2, offset=1) == (["b", "c"], 4)


async def test_history_is_newest_first_and_pages(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    created = await create(client, editor)
    for day in (1, 3, 2):
        await add_execution(session, created["id"], datetime(2040, 1, day, tzinfo=UTC))

    async def days(**variables: Any) -> list[int]:
        body = await gql(client, editor, HISTORY, id=created["id"], **variables)
        return [at(item["scheduledFor"]).day for item in data(body)["schedule"]["history"]]

    assert await days() == [3, 2, 1]
    assert await days(limit=1, offset=1) == [2]
    assert await days(offset=3) == []


async def test_history_of_many_schedules_costs_the_statements_of_one(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession, connection: AsyncConnection
) -> None:
    query = "{ schedules { items { scheduleName history(limit: 2) { scheduledFor } } } }"
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def run() -> tuple[dict[str, Any], int]:
        statements.clear()
        event.listen(connection.sync_connection, "before_cursor_execute", count)
        try:
            body = data(await gql(client, editor, query))
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", count)
        return body, len(statements)

    first = await create(client, editor, scheduleName="first")
    await add_execution(session, first["id"], datetime(2040, 1, 1, tzinfo=UTC))
    _, alone = await run()
    for number in range(5):
        other = await create(client, editor, scheduleName=f"other {number}")
        for day in (1, 2, 3):
            await add_execution(session, other["id"], datetime(2040, 1, day, tzinfo=UTC))
    body, many = await run()

    assert many == alone
    histories = {item["scheduleName"]: item["history"] for item in body["schedules"]["items"]}
    assert len(histories["first"]) == 1
    assert [at(item["scheduledFor"]).day for item in histories["other 3"]] == [3, 2]


async def test_delete_is_hard_and_takes_the_history_along(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    created = await create(client, editor)
    await add_execution(session, created["id"], datetime(2040, 1, 1, tzinfo=UTC))

    deleted = data(await gql(client, editor, DELETE, id=created["id"]))["deleteSchedule"]

    assert deleted == {"id": created["id"], "scheduleName": "Nightly"}
    assert error(await gql(client, editor, READ, id=created["id"]))["code"] == "NOT_FOUND"
    left = await session.scalar(
        select(func.count())
        .select_from(ScheduleExecution)
        .where(ScheduleExecution.schedule_id == uuid.UUID(created["id"]))
    )
    assert left == 0


async def test_another_projects_schedule_is_not_found(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    created = await create(client, editor)
    stranger = await make_caller(role=Role.ADMIN)
    schedule_id = created["id"]

    for query, variables in [
        (READ, {"id": schedule_id}),
        (HISTORY, {"id": schedule_id}),
        (UPDATE, {"id": schedule_id, "input": {"scheduleName": "mine"}}),
        (DELETE, {"id": schedule_id}),
        (PAUSE, {"id": schedule_id}),
        (RESUME, {"id": schedule_id}),
    ]:
        found = error(await gql(client, stranger, query, **variables))
        assert found == {"message": f"Schedule not found: {schedule_id}", "code": "NOT_FOUND"}
    listed = data(await gql(client, stranger, LIST))["schedules"]
    assert listed["total"] == 0


async def test_a_viewer_reads_but_cannot_write(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller
) -> None:
    created = await create(client, editor)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)

    assert (
        data(await gql(client, viewer, READ, id=created["id"]))["schedule"]["id"] == created["id"]
    )
    assert data(await gql(client, viewer, LIST))["schedules"]["total"] == 1
    for query, variables in [
        (
            CREATE,
            {
                "input": {
                    "scheduleName": "x",
                    "suitePath": ["ROOT"],
                    "scheduledDatetime": "2040-01-01T00:00:00Z",
                }
            },
        ),
        (UPDATE, {"id": created["id"], "input": {"scheduleName": "y"}}),
        (DELETE, {"id": created["id"]}),
        (PAUSE, {"id": created["id"]}),
        (RESUME, {"id": created["id"]}),
    ]:
        assert error(await gql(client, viewer, query, **variables))["code"] == "FORBIDDEN"
