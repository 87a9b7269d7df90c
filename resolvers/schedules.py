"""Schedules: when a suite or chosen test cases run, pausing and resuming, and their history.

Occurrences are computed by `resolvers.recurrence`, the rules of their inputs live in
`resolvers.schedule_inputs`. `next_execution_at` is the next occurrence due while a
schedule is active, and null otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import ScheduleStatus
from models.schedules import Schedule, ScheduleExecution
from models.test_cases import TestCase
from resolvers.access import require_writer
from resolvers.dispatch import RunDispatcher
from resolvers.errors import InvalidState, NotFound
from resolvers.recurrence import Recurrence, first_occurrence
from resolvers.schedule_executions import launch_schedule_run, live_test_cases
from resolvers.schedule_inputs import (
    TARGET_FIELDS,
    TIMING_FIELDS,
    ScheduleCreate,
    ScheduleFields,
    ScheduleFilter,
    Timing,
    check_schedule,
    merge_update,
    next_execution,
)
from resolvers.tokens import Principal
from resolvers.validation import PageInput


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _scoped(principal: Principal) -> Select[Schedule]:
    return select(Schedule).where(Schedule.project_id == principal.project_id)


async def _check_test_cases(
    session: AsyncSession, principal: Principal, test_case_ids: Sequence[uuid.UUID] | None
) -> None:
    if not test_case_ids:
        return
    found = set(
        await session.scalars(
            live_test_cases(principal.project_id).where(TestCase.id.in_(test_case_ids))
        )
    )
    missing = [test_case_id for test_case_id in test_case_ids if test_case_id not in found]
    if missing:
        raise NotFound.of("Test case", missing[0])


async def create_schedule(
    session: AsyncSession,
    *,
    principal: Principal,
    data: ScheduleCreate,
    now: datetime | None = None,
) -> Schedule:
    """A new active schedule, due at its first occurrence from now on.

    A recurring schedule whose `scheduled_datetime` is past starts at its next occurrence
    after now; a one-time schedule in the past is a validation error.
    """
    require_writer(principal)
    values = data.model_dump()
    check_schedule(values)
    next_execution_at = next_execution(Timing.of(values), fired=0, now=_now(now))
    await _check_test_cases(session, principal, data.test_case_ids)
    schedule = Schedule(
        project_id=principal.project_id,
        created_by=principal.user_id,
        status=ScheduleStatus.ACTIVE.value,
        next_execution_at=next_execution_at,
        **values,
    )
    session.add(schedule)
    await session.flush()
    return schedule


async def read_schedule(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID, lock: bool = False
) -> Schedule:
    """The caller's project's schedule (row-locked if `lock`), or NotFound."""
    statement = _scoped(principal).where(Schedule.id == schedule_id)
    if lock:
        statement = statement.with_for_update()
    schedule = await session.scalar(statement)
    if schedule is None:
        raise NotFound.of("Schedule", schedule_id)
    return schedule


async def _page(
    session: AsyncSession, statement: Select[Schedule], page: PageInput, *order: Any
) -> tuple[Sequence[Schedule], int]:
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(
        statement.order_by(*order, Schedule.id).limit(page.limit).offset(page.offset)
    )
    return rows.all(), int(total or 0)


def _utc_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _next_execution_between(query: ScheduleFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if isinstance(query.from_date, datetime):
        conditions.append(Schedule.next_execution_at >= query.from_date)
    elif query.from_date is not None:
        conditions.append(Schedule.next_execution_at >= _utc_day(query.from_date))
    if isinstance(query.to_date, datetime):
        conditions.append(Schedule.next_execution_at <= query.to_date)
    elif query.to_date is not None:
        conditions.append(Schedule.next_execution_at < _utc_day(query.to_date + timedelta(days=1)))
    return conditions


async def read_schedules(
    session: AsyncSession, *, principal: Principal, query: ScheduleFilter
) -> tuple[Sequence[Schedule], int]:
    """One page of the project's schedules, soonest next execution first (none last)."""
    statement = _scoped(principal).where(*_next_execution_between(query))
    if query.status is not None:
        statement = statement.where(Schedule.status == query.status)
    if query.is_enabled is not None:
        statement = statement.where(Schedule.is_enabled.is_(query.is_enabled))
    if query.repeat_type is not None:
        statement = statement.where(Schedule.repeat_type == query.repeat_type)
    order = (Schedule.next_execution_at.asc().nulls_last(), Schedule.created_at)
    return await _page(session, statement, query, *order)


async def read_pending_schedules(
    session: AsyncSession, *, principal: Principal, page: PageInput, now: datetime | None = None
) -> tuple[Sequence[Schedule], int]:
    """The project's schedules due to run (active, enabled, next execution passed), oldest first."""
    statement = _scoped(principal).where(
        Schedule.status == ScheduleStatus.ACTIVE,
        Schedule.is_enabled.is_(True),
        Schedule.next_execution_at <= _now(now),
    )
    return await _page(session, statement, page, Schedule.next_execution_at)


async def update_schedule(
    session: AsyncSession,
    *,
    principal: Principal,
    schedule_id: uuid.UUID,
    data: ScheduleFields,
    now: datetime | None = None,
) -> Schedule:
    """Change the fields `data` sets; the others stay.

    On an active schedule, new timing (or re-enabling) recomputes `next_execution_at` from
    now, the occurrences already fired counting against `max_occurrences`.
    """
    require_writer(principal)
    schedule = await read_schedule(session, principal=principal, schedule_id=schedule_id, lock=True)
    given = data.model_dump(exclude_unset=True)
    current = {name: getattr(schedule, name) for name in TIMING_FIELDS | TARGET_FIELDS}
    merged = merge_update(current, given)
    retimed = bool(TIMING_FIELDS & given.keys())
    check_schedule(merged, targets=bool(TARGET_FIELDS & given.keys()), timing=retimed)
    await _check_test_cases(session, principal, given.get("test_case_ids"))
    enabled = given.get("is_enabled") and not schedule.is_enabled
    if schedule.status == ScheduleStatus.ACTIVE and (retimed or enabled):
        schedule.next_execution_at = next_execution(
            Timing.of(merged), fired=schedule.execution_count, now=_now(now)
        )
    for name, value in (merged | given).items():
        setattr(schedule, name, value)
    await session.flush()
    return schedule


async def delete_schedule(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID
) -> Schedule:
    """Delete for good: its executions go with it, its runs stay (without the schedule)."""
    require_writer(principal)
    schedule = await read_schedule(session, principal=principal, schedule_id=schedule_id, lock=True)
    await session.delete(schedule)
    await session.flush()
    return schedule


async def pause_schedule(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID
) -> Schedule:
    """An active schedule stops firing until resumed; INVALID_STATE from any other status."""
    require_writer(principal)
    schedule = await read_schedule(session, principal=principal, schedule_id=schedule_id, lock=True)
    if schedule.status != ScheduleStatus.ACTIVE:
        raise InvalidState.of("pause schedule", schedule.status)
    schedule.status = ScheduleStatus.PAUSED.value
    schedule.next_execution_at = None
    await session.flush()
    return schedule


async def resume_schedule(
    session: AsyncSession,
    *,
    principal: Principal,
    schedule_id: uuid.UUID,
    now: datetime | None = None,
) -> Schedule:
    """A paused schedule fires again from its next occurrence after now (missed ones skipped).

    One with no occurrence left (past its end, out of occurrences) becomes completed.
    """
    require_writer(principal)
    schedule = await read_schedule(session, principal=principal, schedule_id=schedule_id, lock=True)
    if schedule.status != ScheduleStatus.PAUSED:
        raise InvalidState.of("resume schedule", schedule.status)
    recurrence = Recurrence.of(schedule)
    found = first_occurrence(recurrence, now=_now(now), fired=schedule.execution_count)
    schedule.status = (ScheduleStatus.ACTIVE if found else ScheduleStatus.COMPLETED).value
    schedule.next_execution_at = found
    await session.flush()
    return schedule


def _newest_first() -> tuple[ColumnElement[Any], ...]:
    return (ScheduleExecution.scheduled_for.desc(), ScheduleExecution.id.desc())


async def read_schedule_history(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID, page: PageInput
) -> Sequence[ScheduleExecution]:
    """One page of the schedule's executions, newest first."""
    await read_schedule(session, principal=principal, schedule_id=schedule_id)
    rows = await session.scalars(
        select(ScheduleExecution)
        .where(ScheduleExecution.schedule_id == schedule_id)
        .order_by(*_newest_first())
        .limit(page.limit)
        .offset(page.offset)
    )
    return rows.all()


HistoryKey = tuple[uuid.UUID, int, int]  # schedule id, limit, offset


async def load_schedule_histories(
    session: AsyncSession, keys: Sequence[HistoryKey]
) -> list[list[ScheduleExecution]]:
    """A page of executions (newest first) per `(schedule_id, limit, offset)`, in key order.

    One statement per distinct page size and offset, whatever the number of schedules.
    """
    found: dict[HistoryKey, list[ScheduleExecution]] = {key: [] for key in keys}
    for limit, offset in {key[1:] for key in keys}:
        position = func.row_number().over(
            partition_by=ScheduleExecution.schedule_id, order_by=_newest_first()
        )
        ranked = (
            select(ScheduleExecution, position.label("position"))
            .where(
                ScheduleExecution.schedule_id.in_(
                    {key[0] for key in keys if key[1:] == (limit, offset)}
                )
            )
            .subquery()
        )
        execution = aliased(ScheduleExecution, ranked)
        rows = await session.scalars(
            select(execution)
            .where(ranked.c.position > offset, ranked.c.position <= offset + limit)
            .order_by(ranked.c.schedule_id, ranked.c.position)
        )
        for row in rows:
            found[(row.schedule_id, limit, offset)].append(row)
    return [found[key] for key in keys]


async def run_schedule_now(
    session: AsyncSession,
    *,
    principal: Principal,
    schedule_id: uuid.UUID,
    dispatcher: RunDispatcher,
    now: datetime | None = None,
) -> ScheduleExecution:
    """Create the schedule's run, start it, and record it as an execution due now.

    The run has the schedule's test cases, parallel and retry settings and `schedule_id`.
    Any status may run now. It is not one of the schedule's occurrences: `execution_count`
    (what `max_occurrences` counts) and `next_execution_at` stay as they are.
    """
    require_writer(principal)
    schedule = await read_schedule(session, principal=principal, schedule_id=schedule_id, lock=True)
    at = _now(now)
    return await launch_schedule_run(
        session,
        principal=principal,
        schedule=schedule,
        scheduled_for=at,
        at=at,
        dispatcher=dispatcher,
    )


async def count_schedule_executions(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID
) -> int:
    """How many executions the schedule has (the total of `read_schedule_history`'s pages)."""
    await read_schedule(session, principal=principal, schedule_id=schedule_id)
    total = await session.scalar(
        select(func.count()).where(ScheduleExecution.schedule_id == schedule_id)
    )
    return int(total or 0)
