"""REST routes of schedules (test-run-api.md "Schedules")."""

from __future__ import annotations

from starlette.responses import Response

from resolvers import schedules
from resolvers.schedule_inputs import ScheduleCreate, ScheduleFields, ScheduleFilter
from resolvers.validation import PageInput
from server.rest.bodies import ScheduleBody, ScheduleExecutionBody, page_body, page_of
from server.rest.operations import (
    AnyOperation,
    Call,
    NoBody,
    NoQuery,
    Operation,
    Reply,
    json_reply,
)

SCHEDULES = "/api/v1/schedules"
SCHEDULE = SCHEDULES + "/{schedule_id}"
TAG = "Schedules"
WRITE_ERRORS = (400, 403, 404, 422)
SchedulePage = page_of(ScheduleBody)
ExecutionPage = page_of(ScheduleExecutionBody)


async def create_schedule(call: Call[ScheduleCreate, NoQuery]) -> Reply:
    """An active schedule of a suite or of test cases, due at its first occurrence.

    `scheduled_datetime` is a wall-clock time in `timezone`, whatever offset it has.
    """
    async with call.writing() as session:
        row = await schedules.create_schedule(session, principal=call.principal, data=call.body)
    return json_reply(ScheduleBody.model_validate(row), 201)


async def list_schedules(call: Call[NoBody, ScheduleFilter]) -> Reply:
    """The project's schedules, soonest next execution first, filtered and paginated."""
    async with call.reading() as session:
        rows, total = await schedules.read_schedules(
            session, principal=call.principal, query=call.query
        )
    return page_body(ScheduleBody, rows, total, call.query)


async def list_pending_schedules(call: Call[NoBody, PageInput]) -> Reply:
    """The project's schedules due to run now (active, enabled, next execution passed)."""
    async with call.reading() as session:
        rows, total = await schedules.read_pending_schedules(
            session, principal=call.principal, page=call.query
        )
    return page_body(ScheduleBody, rows, total, call.query)


async def get_schedule(call: Call[NoBody, NoQuery]) -> Reply:
    """One schedule of the project."""
    async with call.reading() as session:
        row = await schedules.read_schedule(
            session, principal=call.principal, schedule_id=call.id("schedule_id")
        )
    return ScheduleBody.model_validate(row)


async def update_schedule(call: Call[ScheduleFields, NoQuery]) -> Reply:
    """Change the fields given; new timing recomputes `next_execution_at`."""
    async with call.writing() as session:
        row = await schedules.update_schedule(
            session, principal=call.principal, schedule_id=call.id("schedule_id"), data=call.body
        )
    return ScheduleBody.model_validate(row)


async def delete_schedule(call: Call[NoBody, NoQuery]) -> Reply:
    """Delete a schedule and its history; the runs it created stay."""
    async with call.writing() as session:
        await schedules.delete_schedule(
            session, principal=call.principal, schedule_id=call.id("schedule_id")
        )
    return Response(status_code=204)


async def pause_schedule(call: Call[NoBody, NoQuery]) -> Reply:
    """Stop an active schedule from firing until it is resumed."""
    async with call.writing() as session:
        row = await schedules.pause_schedule(
            session, principal=call.principal, schedule_id=call.id("schedule_id")
        )
    return ScheduleBody.model_validate(row)


async def resume_schedule(call: Call[NoBody, NoQuery]) -> Reply:
    """Let a paused schedule fire again from its next occurrence after now."""
    async with call.writing() as session:
        row = await schedules.resume_schedule(
            session, principal=call.principal, schedule_id=call.id("schedule_id")
        )
    return ScheduleBody.model_validate(row)


async def get_schedule_history(call: Call[NoBody, PageInput]) -> Reply:
    """The schedule's executions, newest first."""
    schedule_id = call.id("schedule_id")
    async with call.reading() as session:
        rows = await schedules.read_schedule_history(
            session, principal=call.principal, schedule_id=schedule_id, page=call.query
        )
        total = await schedules.count_schedule_executions(
            session, principal=call.principal, schedule_id=schedule_id
        )
    return page_body(ScheduleExecutionBody, rows, total, call.query)


OPERATIONS: list[AnyOperation] = [
    Operation("POST", SCHEDULES, create_schedule, "Create a schedule", TAG, ScheduleCreate,
              NoQuery, ScheduleBody, status=201, errors=(400, 403, 404)),
    Operation("GET", SCHEDULES, list_schedules, "List schedules", TAG, NoBody, ScheduleFilter,
              SchedulePage, errors=(400,)),
    Operation("GET", SCHEDULES + "/pending", list_pending_schedules, "List schedules due to run",
              TAG, NoBody, PageInput, SchedulePage, errors=(400,)),
    Operation("GET", SCHEDULE, get_schedule, "Get a schedule", TAG, NoBody, NoQuery,
              ScheduleBody),
    Operation("PUT", SCHEDULE, update_schedule, "Update a schedule", TAG, ScheduleFields,
              NoQuery, ScheduleBody, errors=WRITE_ERRORS),
    Operation("DELETE", SCHEDULE, delete_schedule, "Delete a schedule", TAG, NoBody, NoQuery,
              None, status=204, errors=WRITE_ERRORS),
    Operation("POST", SCHEDULE + "/pause", pause_schedule, "Pause a schedule", TAG, NoBody,
              NoQuery, ScheduleBody, errors=WRITE_ERRORS),
    Operation("POST", SCHEDULE + "/resume", resume_schedule, "Resume a schedule", TAG, NoBody,
              NoQuery, ScheduleBody, errors=WRITE_ERRORS),
    Operation("GET", SCHEDULE + "/history", get_schedule_history, "Get a schedule's executions",
              TAG, NoBody, PageInput, ExecutionPage, errors=(400, 404)),
]  # fmt: skip
