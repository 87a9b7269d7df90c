"""Telling people a scheduled run ended by email over SMTP.

The scheduler decides what to send when it records a run's end and puts one Dramatiq
message per email on the `notifications` queue; its own small worker delivers them, so
a slow mail server never delays firing. Dramatiq retries a failed delivery with
exponential backoff; a delivery that still fails is logged and dropped, and the run it
tells about is never affected. (Webhooks go through their own outbox: execution/webhooks.py.)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

import aiosmtplib
import dramatiq

from models.enums import ScheduleExecutionStatus
from resolvers.schedule_executions import EndedExecution

logger = logging.getLogger(__name__)

NOTIFICATIONS_QUEUE = "notifications"
SEND_EMAIL = "send_schedule_email"
# 1 s, 2 s, 4 s ... doubling (with jitter) up to 5 minutes: about 20 minutes of attempts.
MAX_RETRIES = 10
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 5 * 60 * 1000


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how schedule emails are sent (the TESTRUN_SMTP_* settings)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    timeout_s: float = 30.0


def _outcome(ended: EndedExecution) -> str:
    if ended.test_run_id is None or ended.status is not ScheduleExecutionStatus.COMPLETED:
        return ended.status.value
    return f"completed, {ended.passed_tests}/{ended.total_tests} passed"


def _run_url(base_url: str, ended: EndedExecution) -> str | None:
    if ended.test_run_id is None:
        return None
    return f"{base_url}/api/v1/test-runs/{ended.test_run_id}"


def email_text(ended: EndedExecution, *, base_url: str) -> tuple[str, str]:
    """The subject and plain-text body of the email about `ended`."""
    title = ended.run_name or ended.schedule_name
    subject = f"[testrun] {title}: {_outcome(ended)}"
    lines = [
        f"Schedule: {ended.schedule_name}",
        f"Occurrence: {ended.scheduled_for.isoformat()}",
        f"Status: {ended.status.value}",
    ]
    if ended.test_run_id is not None:
        lines += [
            f"Run: #{ended.run_number} {ended.run_name}",
            f"Tests: {ended.total_tests} total, {ended.passed_tests} passed, "
            f"{ended.failed_tests} failed, {ended.skipped_tests} skipped "
            f"(pass rate {ended.pass_rate}%)",
            f"Duration: {ended.duration_ms / 1000:.1f} s",
            f"Details: {_run_url(base_url, ended)}",
        ]
    if ended.error_message:
        lines.append(f"Error: {ended.error_message}")
    return subject, "\n".join(lines) + "\n"


async def send_email(server: SmtpServer, *, to: list[str], subject: str, text: str) -> None:
    """Send one plain-text email to `to` through `server`."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.security == "tls",
        start_tls=server.security == "starttls",
        timeout=server.timeout_s,
    )


def register_notification_actors(
    broker: dramatiq.Broker, smtp: SmtpServer | None, *, max_retries: int = MAX_RETRIES
) -> None:
    """Declare the email actor on `broker`; emails are dropped (logged) without `smtp`."""

    async def send_schedule_email(to: list[str], subject: str, text: str) -> None:
        if smtp is None:
            logger.warning("email %r not sent: TESTRUN_SMTP_HOST is not set", subject)
            return
        await send_email(smtp, to=to, subject=subject, text=text)
        logger.info("emailed %r to %d recipients", subject, len(to))

    options: dict[str, Any] = {
        "broker": broker,
        "queue_name": NOTIFICATIONS_QUEUE,
        "max_retries": max_retries,
        "min_backoff": MIN_BACKOFF_MS,
        "max_backoff": MAX_BACKOFF_MS,
    }
    dramatiq.actor(actor_name=SEND_EMAIL, **options)(send_schedule_email)


class Notifier:
    """Turns ended executions into email messages on the `notifications` queue."""

    def __init__(self, broker: dramatiq.Broker, *, base_url: str) -> None:
        self.broker = broker
        self.base_url = base_url.rstrip("/")
        broker.declare_queue(NOTIFICATIONS_QUEUE)

    async def notify(self, ended: EndedExecution) -> None:
        """Queue the email `ended` calls for; a failure here is only logged."""
        try:
            if ended.email_recipients:
                subject, text = email_text(ended, base_url=self.base_url)
                await self._send(SEND_EMAIL, list(ended.email_recipients), subject, text)
        except Exception:
            logger.exception(
                "notifications of schedule execution %s not queued", ended.execution_id
            )

    async def _send(self, actor_name: str, *args: Any) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=NOTIFICATIONS_QUEUE,
            actor_name=actor_name,
            args=args,
            kwargs={},
            options={},
        )
        # The broker's client is synchronous; keep the event loop free while it talks to Redis.
        await asyncio.to_thread(self.broker.enqueue, message)
