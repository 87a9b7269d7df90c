"""What a project's webhook is told about its schedules: an occurrence fired, its run ended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import WebhookEvent
from models.schedules import Schedule, ScheduleExecution
from resolvers.webhook_deliveries import queue_webhook

if TYPE_CHECKING:
    from resolvers.schedule_executions import EndedExecution


def _occurrence(
    schedule: tuple[uuid.UUID, str],
    execution: tuple[uuid.UUID, str, datetime, str | None],
    run: dict[str, Any] | None,
) -> dict[str, Any]:
    schedule_id, name = schedule
    execution_id, status, scheduled_for, error_message = execution
    return {
        "schedule": {"id": str(schedule_id), "name": name},
        "execution": {
            "id": str(execution_id),
            "status": status,
            "scheduled_for": scheduled_for.isoformat(),
            "error_message": error_message,
        },
        "test_run": run,
    }


async def queue_schedule_fired(
    session: AsyncSession, *, schedule: Schedule, execution: ScheduleExecution, now: datetime
) -> None:
    """Queue `schedule.fired` for an occurrence the scheduler just fired (or failed to)."""
    run = None if execution.test_run_id is None else {"id": str(execution.test_run_id)}
    await queue_webhook(
        session,
        project_id=schedule.project_id,
        event=WebhookEvent.SCHEDULE_FIRED,
        payload=_occurrence(
            (schedule.id, schedule.schedule_name),
            (execution.id, execution.status, execution.scheduled_for, execution.error_message),
            run,
        ),
        now=now,
    )


def _run_of(ended: EndedExecution) -> dict[str, Any] | None:
    if ended.test_run_id is None:
        return None
    return {
        "id": str(ended.test_run_id),
        "run_name": ended.run_name,
        "run_number": ended.run_number,
        "total_tests": ended.total_tests,
        "passed_tests": ended.passed_tests,
        "failed_tests": ended.failed_tests,
        "skipped_tests": ended.skipped_tests,
        "pass_rate": float(ended.pass_rate),
        "duration_ms": ended.duration_ms,
    }


async def queue_schedule_run_ended(
    session: AsyncSession, *, ended: EndedExecution, now: datetime
) -> None:
    """Queue `schedule.run_ended` for an execution whose run has ended."""
    await queue_webhook(
        session,
        project_id=ended.project_id,
        event=WebhookEvent.SCHEDULE_RUN_ENDED,
        payload=_occurrence(
            (ended.schedule_id, ended.schedule_name),
            (ended.execution_id, ended.status.value, ended.scheduled_for, ended.error_message),
            _run_of(ended),
        ),
        now=now,
    )
