"""Firing schedules (once per occurrence, missed ones, limits) and following their runs' ends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE, QueueDispatcher
from models.enums import ItemStatus, Role, RunStatus
from models.runs import TestRun, TestRunItem
from models.schedules import Schedule, ScheduleExecution
from models.tenancy import Project, User
from models.webhooks import WebhookDelivery
from resolvers import runs
from resolvers.schedule_executions import (
    fire_due_schedule,
    follow_ended_runs,
    next_due_at,
)
from resolvers.schedule_inputs import ScheduleCreate
from resolvers.schedules import create_schedule, pause_schedule, run_schedule_now
from resolvers.tenancy import ensure_member
from resolvers.tokens import Principal
from resolvers.validation import parse
from tests.factories import make_project, make_test_case, make_user, principal_of


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type]


@dataclass
class Team:
    session: AsyncSession
    project: Project
    user: User
    dispatcher: QueueDispatcher

    @property
    def principal(self) -> Principal:
        return principal_of(self.project, self.user)

    async def schedule(self, *, created: datetime, **fields: Any) -> Schedule:
        base = {
            "schedule_name": "Nightly Regression",
            "suite_path": ["ROOT", "Regression"],
            "scheduled_datetime": "2026-01-18T02:00:00Z",
            "timezone": "America/New_York",
            "repeat_type": "daily",
        }
        data = parse(ScheduleCreate, base | fields)
        return await create_schedule(self.session, principal=self.principal, data=data, now=created)

    async def fire(self, now: datetime) -> Any:
        return await fire_due_schedule(self.session, now=now, dispatcher=self.dispatcher)

    async def executions(self, schedule: Schedule) -> list[ScheduleExecution]:
        rows = await self.session.scalars(
            select(ScheduleExecution)
            .where(ScheduleExecution.schedule_id == schedule.id)
            .order_by(ScheduleExecution.scheduled_for)
        )
        return list(rows)


@pytest.fixture
async def team(session: AsyncSession, stub_broker: StubBroker) -> Team:
    # Only this test's schedules exist in its transaction, so the oldest due one is ours.
    project = await make_project(session)
    user = await make_user(session)
    await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
    stub_broker.declare_queue(RUNS_QUEUE)
    return Team(session, project, user, QueueDispatcher(stub_broker))


async def regression_suite(team: Team) -> list[str]:
    names = ["Search", "Checkout"]
    for name in names:
        await make_test_case(
            team.session, team.project, name=name, suite_path=["ROOT", "Regression"]
        )
    return sorted(names)


async def test_a_due_schedule_creates_and_starts_its_run_named_after_the_local_time(
    team: Team,
) -> None:
    names = await regression_suite(team)
    schedule = await team.schedule(
        created=utc(2026, 1, 17, 10), parallel_enabled=True, parallel_count=2, retry_count=1
    )
    assert schedule.next_execution_at == utc(2026, 1, 18, 7)
    assert await team.fire(utc(2026, 1, 18, 6, 59, 59)) is None

    fired = await team.fire(utc(2026, 1, 18, 7, 0, 0, 300_000))

    assert (fired.scheduled_for, fired.missed, fired.completed) == (utc(2026, 1, 18, 7), 0, False)
    run = await team.session.get(TestRun, fired.test_run_id)
    assert run is not None
    assert run.run_name == "Nightly Regression 2026-01-18 02:00"
    assert (run.status, run.schedule_id, run.created_by) == ("running", schedule.id, team.user.id)
    assert (run.parallel_enabled, run.parallel_count, run.retry_count) == (True, 2, 1)
    assert run.scheduled_at == utc(2026, 1, 18, 7)
    items = (
        await team.session.scalars(select(TestRunItem).where(TestRunItem.test_run_id == run.id))
    ).all()
    assert {item.status for item in items} == {ItemStatus.QUEUED.value}
    assert len(items) == len(names)
    [execution] = await team.executions(schedule)
    assert (execution.status, execution.test_run_id, execution.total_tests) == (
        "running",
        run.id,
        2,
    )
    assert execution.executed_at == utc(2026, 1, 18, 7, 0, 0, 300_000)
    assert schedule.execution_count == 1
    assert schedule.last_executed_at == execution.executed_at
    assert schedule.last_execution_status == "running"
    assert schedule.next_execution_at == utc(2026, 1, 19, 7)
    assert await team.fire(utc(2026, 1, 18, 8)) is None


async def test_chosen_test_cases_run_in_the_schedules_order(team: Team) -> None:
    first = await make_test_case(team.session, team.project, name="B")
    second = await make_test_case(team.session, team.project, name="A")
    await team.schedule(
        created=utc(2026, 1, 17), suite_path=None, test_case_ids=[str(first.id), str(second.id)]
    )

    fired = await team.fire(utc(2026, 1, 18, 7))

    order = await team.session.scalars(
        select(TestRunItem.test_case_id)
        .where(TestRunItem.test_run_id == fired.test_run_id)
        .order_by(TestRunItem.execution_order)
    )
    assert list(order) == [first.id, second.id]


async def test_after_downtime_the_latest_occurrence_fires_and_the_others_are_missed(
    team: Team,
) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17))

    fired = await team.fire(utc(2026, 1, 21, 12))

    assert (fired.scheduled_for, fired.missed) == (utc(2026, 1, 21, 7), 3)
    executions = await team.executions(schedule)
    assert [(e.scheduled_for.day, e.status) for e in executions] == [
        (18, "missed"),
        (19, "missed"),
        (20, "missed"),
        (21, "running"),
    ]
    assert {e.test_run_id for e in executions[:3]} == {None}
    run = await team.session.get(TestRun, fired.test_run_id)
    assert run is not None and run.run_name == "Nightly Regression 2026-01-21 02:00"
    assert schedule.execution_count == 1  # missed occurrences did not fire
    assert schedule.next_execution_at == utc(2026, 1, 22, 7)


async def test_max_occurrences_completes_the_schedule(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17), max_occurrences=2)

    first = await team.fire(utc(2026, 1, 18, 7))
    second = await team.fire(utc(2026, 1, 19, 7))

    assert (first.completed, second.completed) == (False, True)
    assert (schedule.status, schedule.next_execution_at) == ("completed", None)
    assert schedule.execution_count == 2
    assert await team.fire(utc(2026, 1, 30)) is None


async def test_the_end_date_completes_the_schedule_and_bounds_missed_ones(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17), repeat_end_date="2026-01-20T02:00:00Z")

    fired = await team.fire(utc(2026, 2, 1))

    assert (fired.scheduled_for, fired.missed, fired.completed) == (utc(2026, 1, 20, 7), 2, True)
    assert (schedule.status, schedule.next_execution_at) == ("completed", None)
    assert len(await team.executions(schedule)) == 3


async def test_a_one_time_schedule_fires_once_and_completes(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17), repeat_type="none")

    fired = await team.fire(utc(2026, 1, 18, 7, 0, 1))

    assert fired.completed
    assert (schedule.status, schedule.execution_count) == ("completed", 1)


async def test_hourly_in_the_autumn_fold_fires_each_absolute_hour_once(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(
        created=utc(2026, 10, 31),
        scheduled_datetime="2026-11-01T00:30:00Z",
        repeat_type="hourly",
    )
    fired = []
    for hour in (4, 5, 6, 7):
        fired.append(await team.fire(utc(2026, 11, 1, hour, 30)))

    assert [f.scheduled_for for f in fired] == [utc(2026, 11, 1, h, 30) for h in (4, 5, 6, 7)]
    names = await team.session.scalars(
        select(TestRun.run_name).where(TestRun.schedule_id == schedule.id).order_by(TestRun.id)
    )
    assert sorted(name[-5:] for name in names) == ["00:30", "01:30", "01:30", "02:30"]


async def test_paused_disabled_and_future_schedules_do_not_fire(team: Team) -> None:
    await regression_suite(team)
    paused = await team.schedule(created=utc(2026, 1, 17))
    await pause_schedule(team.session, principal=team.principal, schedule_id=paused.id)
    await team.schedule(created=utc(2026, 1, 17), is_enabled=False)
    future = await team.schedule(
        created=utc(2026, 1, 17), scheduled_datetime="2026-03-01T00:00:00Z"
    )

    assert await team.fire(utc(2026, 2, 1)) is None
    assert await next_due_at(team.session) == future.next_execution_at


async def test_a_schedule_with_nothing_to_run_records_a_failed_execution_and_moves_on(
    team: Team,
) -> None:
    schedule = await team.schedule(created=utc(2026, 1, 17))

    fired = await team.fire(utc(2026, 1, 18, 7))

    [execution] = await team.executions(schedule)
    assert (fired.status.value, execution.status, execution.test_run_id) == (
        "failed",
        "failed",
        None,
    )
    assert execution.error_message == "Cannot run schedule: it selects no live test cases"
    assert (schedule.last_execution_status, schedule.execution_count) == ("failed", 1)
    assert schedule.next_execution_at == utc(2026, 1, 19, 7)
    assert await team.session.scalar(select(TestRun.id)) is None


async def test_an_occurrence_already_recorded_is_not_fired_again(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17))
    team.session.add(
        ScheduleExecution(
            schedule_id=schedule.id, scheduled_for=utc(2026, 1, 18, 7), status="completed"
        )
    )
    await team.session.flush()

    fired = await team.fire(utc(2026, 1, 18, 7))

    assert (fired.status, fired.test_run_id) == (None, None)
    [execution] = await team.executions(schedule)
    assert execution.status == "completed"
    assert await team.session.scalar(select(TestRun.id)) is None
    assert (schedule.execution_count, schedule.next_execution_at) == (0, utc(2026, 1, 19, 7))


async def end_run(team: Team, run_id: uuid.UUID, *, passed: int, failed: int) -> None:
    run = await team.session.get(TestRun, run_id)
    assert run is not None
    run.status = RunStatus.COMPLETED.value
    run.total_tests, run.passed_tests, run.failed_tests = passed + failed, passed, failed
    run.duration_ms = 4_200
    await team.session.flush()


async def test_following_records_the_end_of_runs_whoever_ended_them(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17), notification_emails=["qa@example.com"])
    project = team.project
    project.webhook_url, project.webhook_secret = "http://hooks.example/in", "s3cret"
    first = await team.fire(utc(2026, 1, 18, 7))
    second = await team.fire(utc(2026, 1, 19, 7))
    assert await follow_ended_runs(team.session) == []

    await runs.cancel_test_run(
        team.session,
        principal=team.principal,
        run_id=second.test_run_id,
    )
    [cancelled] = await follow_ended_runs(team.session)
    await end_run(team, first.test_run_id, passed=1, failed=1)
    [completed] = await follow_ended_runs(team.session)

    assert (cancelled.status.value, cancelled.scheduled_for) == ("cancelled", utc(2026, 1, 19, 7))
    assert (completed.status.value, completed.failed, completed.total_tests) == (
        "completed",
        True,
        2,
    )
    assert completed.run_name == "Nightly Regression 2026-01-18 02:00"
    assert completed.email_recipients == ("qa@example.com",)
    queued = await team.session.scalars(
        select(WebhookDelivery.event)
        .where(WebhookDelivery.project_id == project.id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.event)
    )
    # Both firings, both executions' ends, and the run cancelled through its resolver
    # (`end_run` writes the other run's row directly, as no resolver would).
    assert sorted(queued) == sorted(
        ["schedule.fired"] * 2 + ["run.ended"] + ["schedule.run_ended"] * 2
    )
    old, new = await team.executions(schedule)
    assert (old.status, old.passed_tests, old.failed_tests, old.duration_ms) == (
        "completed",
        1,
        1,
        4_200,
    )
    assert new.status == "cancelled"
    # The latest execution decides the schedule's last status, not one that ended later.
    assert schedule.last_execution_status == "cancelled"
    assert await follow_ended_runs(team.session) == []


async def test_run_now_is_followed_too(team: Team) -> None:
    await regression_suite(team)
    schedule = await team.schedule(created=utc(2026, 1, 17))
    execution = await run_schedule_now(
        team.session,
        principal=team.principal,
        schedule_id=schedule.id,
        dispatcher=team.dispatcher,
    )
    assert execution.test_run_id is not None
    await end_run(team, execution.test_run_id, passed=2, failed=0)

    [ended] = await follow_ended_runs(team.session)

    assert (ended.status.value, ended.failed, ended.passed_tests) == ("completed", False, 2)
    await team.session.refresh(schedule)
    assert schedule.last_execution_status == "completed"


async def test_a_deleted_run_ends_its_execution_cancelled(team: Team) -> None:
    await regression_suite(team)
    await team.schedule(created=utc(2026, 1, 17))
    fired = await team.fire(utc(2026, 1, 18, 7))
    await team.session.execute(delete(TestRun).where(TestRun.id == fired.test_run_id))

    [ended] = await follow_ended_runs(team.session)

    assert (ended.status.value, ended.test_run_id) == ("cancelled", None)
    assert ended.error_message == "The run was deleted before it ended"


@pytest.mark.parametrize(
    ("completion", "failure", "failed_tests", "told"),
    [
        (True, True, 0, True),
        (True, False, 0, True),
        (False, True, 0, False),
        (False, True, 1, True),
        (False, False, 1, False),
    ],
)
async def test_who_is_emailed_follows_the_notify_flags(
    team: Team, completion: bool, failure: bool, failed_tests: int, told: bool
) -> None:
    await regression_suite(team)
    await team.schedule(
        created=utc(2026, 1, 17),
        notify_on_completion=completion,
        notify_on_failure=failure,
        notification_emails=["qa@example.com"],
    )
    fired = await team.fire(utc(2026, 1, 18, 7))
    await end_run(team, fired.test_run_id, passed=2 - failed_tests, failed=failed_tests)

    [ended] = await follow_ended_runs(team.session)

    assert ended.email_recipients == (("qa@example.com",) if told else ())
