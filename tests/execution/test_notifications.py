"""Emails about a scheduled run's end: to a real SMTP server, with retries."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from execution.notifications import (
    NOTIFICATIONS_QUEUE,
    Notifier,
    SmtpServer,
    register_notification_actors,
)
from models.enums import ScheduleExecutionStatus
from resolvers.schedule_executions import EndedExecution
from tests.execution.notification_receivers import free_port, smtp_server

SECRET = "a-shared-secret"


def ended(**overrides: Any) -> EndedExecution:
    values: dict[str, Any] = {
        "execution_id": uuid.uuid4(),
        "schedule_id": uuid.uuid4(),
        "schedule_name": "Nightly Regression",
        "project_id": uuid.uuid4(),
        "scheduled_for": datetime(2026, 1, 18, 7, tzinfo=UTC),
        "status": ScheduleExecutionStatus.COMPLETED,
        "test_run_id": uuid.uuid4(),
        "run_name": "Nightly Regression 2026-01-18 02:00",
        "run_number": 42,
        "total_tests": 3,
        "passed_tests": 2,
        "failed_tests": 1,
        "skipped_tests": 0,
        "pass_rate": Decimal("66.67"),
        "duration_ms": 12_345,
        "error_message": None,
        "notify_on_completion": True,
        "notify_on_failure": True,
        "notification_emails": ("qa@example.com", "lead@example.com"),
    }
    return EndedExecution(**(values | overrides))


def deliver(broker: StubBroker, worker: dramatiq.Worker) -> None:
    """Wait until every notification (retries included) was delivered or dropped."""
    broker.join(NOTIFICATIONS_QUEUE, fail_fast=False)
    worker.join()


async def test_the_email_reaches_every_listed_address_through_smtp(
    stub_broker: StubBroker, stub_worker: dramatiq.Worker
) -> None:
    with smtp_server() as (inbox, port):
        server = SmtpServer(
            host="127.0.0.1", port=port, sender="testrun@ci.example", security="none"
        )
        register_notification_actors(stub_broker, server)
        notifier = Notifier(stub_broker, base_url="https://testrun.example/")

        await notifier.notify(ended())
        await asyncio.to_thread(deliver, stub_broker, stub_worker)

    [(recipients, message)] = inbox.received
    assert recipients == ["qa@example.com", "lead@example.com"]
    assert message["From"] == "testrun@ci.example"
    assert message["To"] == "qa@example.com, lead@example.com"
    assert message["Subject"] == (
        "[testrun] Nightly Regression 2026-01-18 02:00: completed, 2/3 passed"
    )
    text = message.get_content()
    assert "Tests: 3 total, 2 passed, 1 failed, 0 skipped (pass rate 66.67%)" in text
    assert "Run: #42 Nightly Regression 2026-01-18 02:00" in text
    assert "https://testrun.example/api/v1/test-runs/" in text


async def test_no_email_is_queued_when_the_flags_leave_nobody_to_tell(
    stub_broker: StubBroker,
) -> None:
    register_notification_actors(stub_broker, None)
    notifier = Notifier(stub_broker, base_url="http://localhost:8000")

    await notifier.notify(ended(notify_on_completion=False, failed_tests=0))

    assert stub_broker.queues[NOTIFICATIONS_QUEUE].qsize() == 0


async def test_an_unreachable_mail_server_is_retried_then_logged_and_dropped(
    stub_broker: StubBroker, stub_worker: dramatiq.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = SmtpServer(host="127.0.0.1", port=free_port(), sender="t@x.example", security="none")
    register_notification_actors(stub_broker, nobody, max_retries=1)
    notifier = Notifier(stub_broker, base_url="http://localhost:8000")

    await notifier.notify(ended())
    await asyncio.to_thread(deliver, stub_broker, stub_worker)

    [dropped] = stub_broker.dead_letters
    assert dropped.actor_name == "send_schedule_email"
    assert dropped.options["retries"] == 2  # the first attempt and one retry
    assert "send_schedule_email" in caplog.text


async def test_without_smtp_settings_emails_are_skipped_with_a_warning(
    stub_broker: StubBroker, stub_worker: dramatiq.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    register_notification_actors(stub_broker, None)
    notifier = Notifier(stub_broker, base_url="http://localhost:8000")

    with caplog.at_level(logging.WARNING, logger="execution.notifications"):
        await notifier.notify(ended())
        await asyncio.to_thread(deliver, stub_broker, stub_worker)

    assert "TESTRUN_SMTP_HOST is not set" in caplog.text
    assert stub_broker.dead_letters == []
