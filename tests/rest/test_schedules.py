"""REST routes of schedules: the spec's example, lists, pause and resume, history, pending."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models import ScheduleExecution
from tests.factories import make_run, make_schedule
from tests.fixtures.http import Caller

SPEC_EXAMPLE = {
    "schedule_name": "Nightly Regression",
    "suite_path": ["ROOT", "Regression"],
    "suite_name": "Regression",
    "scheduled_datetime": "2040-01-18T02:00:00Z",
    "timezone": "America/New_York",
    "repeat_type": "daily",
    "parallel_enabled": True,
    "parallel_count": 5,
    "retry_on_failure": True,
    "retry_count": 2,
    "notify_on_failure": True,
    "notification_emails": ["team@example.com"],
}


async def test_create_read_update_and_delete_the_spec_example(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await client.post("/api/v1/schedules", headers=editor.headers, json=SPEC_EXAMPLE)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["status"] == "active"
    assert schedule["is_enabled"] is True
    # 02:00 written with Z is 02:00 in New York: 07:00 UTC (winter).
    assert schedule["next_execution_at"] == "2040-01-18T07:00:00Z"
    path = f"/api/v1/schedules/{schedule['id']}"
    assert (await client.get(path, headers=editor.headers)).json() == schedule

    updated = await client.put(path, headers=editor.headers, json={"schedule_name": "Renamed"})
    assert updated.status_code == 200
    assert updated.json()["schedule_name"] == "Renamed"
    refused = await client.put(path, headers=editor.headers, json={"repeat_interval": 5})
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "field": "repeat_interval",
        "message": "Only for custom schedules",
    }
    assert (await client.delete(path, headers=editor.headers)).status_code == 204
    assert (await client.get(path, headers=editor.headers)).status_code == 404


async def test_pause_resume_list_pending_and_history(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    due = await make_schedule(
        session,
        editor.project,
        editor.user,
        schedule_name="Due",
        next_execution_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    later = await make_schedule(session, editor.project, editor.user, schedule_name="Later")
    run = await make_run(session, editor.project, editor.user)
    for day in (1, 2, 3):
        session.add(
            ScheduleExecution(
                schedule_id=due.id,
                test_run_id=run.id,
                scheduled_for=datetime(2026, 1, day, tzinfo=UTC),
                status="completed",
            )
        )
    await session.flush()

    pending = await client.get("/api/v1/schedules/pending", headers=editor.headers)
    assert [row["schedule_name"] for row in pending.json()["items"]] == ["Due"]
    listed = await client.get("/api/v1/schedules?status=active", headers=editor.headers)
    assert [row["schedule_name"] for row in listed.json()["items"]] == ["Due", "Later"]

    history = await client.get(
        f"/api/v1/schedules/{due.id}/history?limit=2", headers=editor.headers
    )
    assert history.status_code == 200
    assert history.json()["total"] == 3
    assert [row["scheduled_for"] for row in history.json()["items"]] == [
        "2026-01-03T00:00:00Z",
        "2026-01-02T00:00:00Z",
    ]

    paused = await client.post(f"/api/v1/schedules/{later.id}/pause", headers=editor.headers)
    assert paused.status_code == 200
    assert (paused.json()["status"], paused.json()["next_execution_at"]) == ("paused", None)
    again = await client.post(f"/api/v1/schedules/{later.id}/pause", headers=editor.headers)
    assert again.status_code == 422
    assert again.json() == {"detail": "Cannot pause schedule: status is 'paused'"}
    resumed = await client.post(f"/api/v1/schedules/{later.id}/resume", headers=editor.headers)
    assert resumed.json()["status"] == "active"
    only_paused = await client.get("/api/v1/schedules?status=paused", headers=editor.headers)
    assert only_paused.json()["total"] == 0
