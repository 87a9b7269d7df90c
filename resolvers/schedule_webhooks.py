"""What a project's webhook is told about its schedules: an occurrence fired, its run ended."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import WebhookEvent
from models.schedules import Schedule, ScheduleExecution
from resolvers.webhook_deliveries import queue_webhook

if TYPE_CHECKING:
    from resolvers.schedule_executions import EndedExecution


async def queue_schedule_fired(
    session: AsyncSession, *, schedule: Schedule, execution: ScheduleExecution, now: datetime
) -> None:
    """Queue `schedule.fired` for an occurrence the scheduler just fired (or failed to)."""
    run = None if execution.test_run_id is None else {"id": str(execution.test_run_id)}
    await queue_webhook(
        session,
        project_id=schedule.project_id,
        event=WebhookEvent.SCHEDULE_FIRED,
        payload={
            "schedule": {"id": str(schedule.id), "name": schedule.schedule_name},
            "execution": {
                "id": str(execution.id),
                "status": execution.status,
                "scheduled_for": execution.scheduled_for.isoformat(),
                "error_message": execution.error_message,
            },
            "test_run": run,
        },
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
        payload={
            "schedule": {"id": str(ended.schedule_id), "name": ended.schedule_name},
            "execution": {
                "id": str(ended.execution_id),
                "status": ended.status.value,
                "scheduled_for": ended.scheduled_for.isoformat(),
                "error_message": ended.error_message,
            },
            "test_run": _run_of(ended),
        },
        now=now,
    )
