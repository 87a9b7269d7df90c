"""The scheduler: jobs that repeat and wake when due, two schedulers firing each occurrence once,
and a scheduled run followed from firing through real execution to its notifications."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.dispatch import RUNS_QUEUE, START_RUN, QueueDispatcher
from execution.notifications import Notifier, SmtpServer, register_notification_actors
from execution.scheduler import firing, follower, run_scheduler, webhook_sender
from execution.webhooks import SIGNATURE_HEADER, sign
from models.database import create_engine, create_session_factory, transaction
from models.runs import TestRun
from models.schedules import Schedule, ScheduleExecution
from resolvers.schedule_inputs import ScheduleCreate
from resolvers.schedules import create_schedule
from resolvers.validation import parse
from resolvers.webhooks import set_project_webhook
from tests.execution.engine_harness import Team, login_steps, serve_pages, start_engine, stop_engine
from tests.execution.notification_receivers import smtp_server, webhook_endpoint
from tests.factories import make_schedule, make_test_case
from tests.processes import cli_env, started

Sessions = async_sessionmaker[AsyncSession]


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30) -> None:
    """Wait until `check()` holds; fails the test after `timeout_s` (a deadline, not a measure)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout_s} s")
        await asyncio.sleep(0.05)


async def hourly_schedules(
    team: Team, count: int, *, first: datetime, **fields: Any
) -> list[uuid.UUID]:
    """`count` hourly schedules of one test case, the first occurrence at `first` (UTC)."""
    async with transaction(team.sessions) as session:
        case = await make_test_case(session, team.project, proven_steps=fields.pop("steps", []))
        ids = []
        for number in range(count):
            data = parse(
                ScheduleCreate,
                {
                    "schedule_name": f"Hourly {number}",
                    "test_case_ids": [case.id],
                    "scheduled_datetime": first,
                    "repeat_type": "custom",
                    "repeat_interval": 1,
                    "repeat_unit": "hours",
                }
                | fields,
            )
            schedule = await create_schedule(
                session, principal=team.principal, data=data, now=first - timedelta(minutes=1)
            )
            ids.append(schedule.id)
    return ids


async def fired_once(sessions: Sessions, schedule_ids: list[uuid.UUID]) -> bool:
    async with sessions() as session:
        counts = await session.scalars(
            select(Schedule.execution_count).where(Schedule.id.in_(schedule_ids))
        )
        return set(counts) == {1}


async def assert_each_fired_exactly_once(sessions: Sessions, schedule_ids: list[uuid.UUID]) -> None:
    async with sessions() as session:
        runs = dict(
            (
                await session.execute(
                    select(TestRun.schedule_id, func.count())
                    .where(TestRun.schedule_id.in_(schedule_ids))
                    .group_by(TestRun.schedule_id)
                )
            ).all()
        )
        executions = (
            await session.execute(
                select(ScheduleExecution.schedule_id, ScheduleExecution.status).where(
                    ScheduleExecution.schedule_id.in_(schedule_ids)
                )
            )
        ).all()
    assert runs == dict.fromkeys(schedule_ids, 1)
    running = [schedule_id for schedule_id, status in executions if status == "running"]
    assert sorted(running) == sorted(schedule_ids)
    assert {status for _, status in executions} <= {"running", "missed"}


async def test_two_schedulers_fire_each_occurrence_exactly_once(
    migrated_database_url: str,
    committing_session_factory: Sessions,
    stub_broker: StubBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    team = await Team.create(committing_session_factory)
    # First due five hours ago: each has five missed occurrences and one to fire (now).
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    schedule_ids = await hourly_schedules(team, 30, first=first)
    engines = [create_engine(migrated_database_url, pool_size=2) for _ in range(2)]
    stop = asyncio.Event()
    dispatcher = QueueDispatcher(stub_broker)
    schedulers = [
        asyncio.create_task(
            run_scheduler(create_session_factory(engine), stop=stop, jobs=[firing(dispatcher)])
        )
        for engine in engines
    ]
    try:
        await eventually(lambda: fired_once(committing_session_factory, schedule_ids))
    finally:
        stop.set()
        await asyncio.gather(*schedulers)
        for engine in engines:
            await engine.dispose()

    await assert_each_fired_exactly_once(committing_session_factory, schedule_ids)
    # The row locks kept them apart: neither met an occurrence the other had recorded.
    assert "already recorded" not in caplog.text
    assert "failed" not in caplog.text
    async with committing_session_factory() as session:
        missed = await session.scalar(
            select(func.count()).where(ScheduleExecution.status == "missed")
        )
    assert missed == 30 * 5
    started_runs = [m for m in stub_broker.queues[RUNS_QUEUE].queue if START_RUN.encode() in m]
    assert len(started_runs) == 30


@pytest.mark.slow
async def test_two_scheduler_processes_fire_each_occurrence_exactly_once(
    migrated_database_url: str,
    redis_url: str,
    redis: Redis,
    committing_session_factory: Sessions,
) -> None:
    team = await Team.create(committing_session_factory)
    env = cli_env(DATABASE_URL=migrated_database_url, REDIS_URL=redis_url)
    with (
        started("scheduler", env=env) as (one, one_output),
        started("scheduler", env=env) as (
            two,
            two_output,
        ),
    ):
        for output in (one_output, two_output):
            await asyncio.to_thread(output.wait_for, "scheduler ready", 30)
        # Both processes are waiting; the schedules fall due together a moment from now.
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        schedule_ids = await hourly_schedules(team, 10, first=first)

        await eventually(lambda: fired_once(committing_session_factory, schedule_ids))

        for process in (one, two):
            process.send_signal(signal.SIGTERM)
        for process, output in ((one, one_output), (two, two_output)):
            assert await asyncio.to_thread(process.wait, 20) == 0, output.drain()

    await assert_each_fired_exactly_once(committing_session_factory, schedule_ids)
    assert "fired for" in one_output.drain() + two_output.drain()


async def test_the_firing_job_wakes_at_the_next_due_time(
    session_factory: Sessions, stub_broker: StubBroker
) -> None:
    job = firing(QueueDispatcher(stub_broker), poll_seconds=10 * 365 * 24 * 3600)
    nothing_due = await job(session_factory)
    team = await Team.create(session_factory)
    async with session_factory() as session:
        schedule = await make_schedule(
            session, team.project, team.user, next_execution_at=datetime(2031, 5, 4, tzinfo=UTC)
        )
        await session.commit()

    wake = await job(session_factory)

    assert wake == schedule.next_execution_at
    assert nothing_due is not None and nothing_due > wake


async def test_a_failing_job_is_logged_and_the_others_go_on(
    session_factory: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    turns: list[str] = []

    async def broken(sessions: Sessions) -> None:
        turns.append("broken")
        raise RuntimeError("the database blinked")

    async def counting(sessions: Sessions) -> datetime:
        turns.append("counting")
        if turns.count("counting") == 5:
            stop.set()
        return datetime.now(UTC)  # asks to run again at once

    await asyncio.wait_for(
        run_scheduler(session_factory, stop=stop, jobs=[broken, counting], tick_seconds=60),
        timeout=30,
    )

    assert turns.count("counting") == 5
    assert turns.count("broken") == 1  # waits for its tick, the other job does not
    assert "scheduler job broken failed" in caplog.text
    assert "the database blinked" in caplog.text


async def test_a_scheduled_run_executes_and_its_end_is_recorded_and_notified(
    migrated_database_url: str,
    committing_session_factory: Sessions,
    stub_broker: StubBroker,
    tmp_path: Path,
) -> None:
    team = await Team.create(committing_session_factory)
    (tmp_path / "site").mkdir()
    with (
        serve_pages(tmp_path / "site") as site,
        smtp_server() as (inbox, port),
        webhook_endpoint(204) as hook,
    ):
        async with transaction(team.sessions) as session:
            secret = await set_project_webhook(session, project_id=team.project.id, url=hook.url)
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        [schedule_id] = await hourly_schedules(
            team,
            1,
            first=first,
            steps=login_steps(site),
            notification_emails=["qa@example.com"],
        )
        register_notification_actors(
            stub_broker, SmtpServer(host="127.0.0.1", port=port, sender="t@x.io", security="none")
        )
        engine, worker = start_engine(migrated_database_url, stub_broker, tmp_path / "artifacts")
        stop = asyncio.Event()
        jobs = [
            firing(QueueDispatcher(stub_broker)),
            follower(Notifier(stub_broker, base_url="http://testrun.local")),
            webhook_sender(base_url="http://testrun.local"),
        ]
        scheduler = asyncio.create_task(
            run_scheduler(team.sessions, stop=stop, jobs=jobs, tick_seconds=0.2)
        )
        try:
            await eventually(lambda: executions_ended(team.sessions, schedule_id), timeout_s=60)

            async def both_delivered() -> bool:
                return bool(inbox.received and len(hook.deliveries) == 3)

            await eventually(both_delivered)
        finally:
            stop.set()
            await scheduler
            stop_engine(engine, worker)

    async with team.sessions() as session:
        [execution] = await session.scalars(
            select(ScheduleExecution).where(ScheduleExecution.schedule_id == schedule_id)
        )
        schedule = await session.get(Schedule, schedule_id)
    assert schedule is not None
    assert (execution.status, execution.total_tests, execution.passed_tests) == (
        "completed",
        1,
        1,
    )
    assert execution.duration_ms > 0
    assert (schedule.execution_count, schedule.last_execution_status) == (1, "completed")
    [(recipients, message)] = inbox.received
    assert recipients == ["qa@example.com"]
    assert message["Subject"].endswith(": completed, 1/1 passed")
    assert secret is not None
    for delivery in hook.deliveries:
        assert delivery.headers[SIGNATURE_HEADER] == sign(secret, delivery.body)
    payloads = {json.loads(d.body)["event"]: json.loads(d.body) for d in hook.deliveries}
    assert set(payloads) == {"schedule.fired", "run.ended", "schedule.run_ended"}
    assert payloads["schedule.fired"]["execution"]["status"] == "running"
    assert payloads["run.ended"]["test_run"]["schedule_id"] == str(schedule_id)
    assert payloads["run.ended"]["test_run"]["passed_tests"] == 1
    payload = payloads["schedule.run_ended"]
    assert payload["test_run"]["id"] == str(execution.test_run_id)
    assert (
        payload["test_run"]["url"]
        == f"http://testrun.local/api/v1/test-runs/{execution.test_run_id}"
    )
    assert payload["execution"]["status"] == "completed"


async def executions_ended(sessions: Sessions, schedule_id: uuid.UUID) -> bool:
    async with sessions() as session:
        statuses = set(
            await session.scalars(
                select(ScheduleExecution.status).where(ScheduleExecution.schedule_id == schedule_id)
            )
        )
    return bool(statuses) and statuses <= {"completed", "failed", "cancelled"}
