"""GraphQL enums (UPPER_CASE names) over the shared status and kind values of `models.enums`."""

from __future__ import annotations

import strawberry

from models import enums

RunStatus = strawberry.enum(
    enums.RunStatus,
    description="PENDING, QUEUED (waiting for a slot), RUNNING, then COMPLETED | CANCELLED | "
    "FAILED (infrastructure failure).",
)
ItemStatus = strawberry.enum(
    enums.ItemStatus,
    description="A test case in a run: PENDING, QUEUED, RUNNING, then PASSED | FAILED | "
    "SKIPPED | NO_RUN (no proven steps).",
)
ResultStatus = strawberry.enum(
    enums.ResultStatus, description="Outcome of one attempt or data row, or of one step."
)
CheckpointStatus = strawberry.enum(enums.CheckpointStatus, description="Outcome of a checkpoint.")
CheckpointType = strawberry.enum(enums.CheckpointType, description="What a checkpoint verifies.")
ScriptType = strawberry.enum(enums.ScriptType, description="When a script runs.")
ScriptLanguage = strawberry.enum(enums.ScriptLanguage, description="What a script is written in.")
LogLevel = strawberry.enum(enums.LogLevel, description="Level of a browser console message.")
ScheduleStatus = strawberry.enum(enums.ScheduleStatus, description="Whether a schedule fires.")
RepeatType = strawberry.enum(enums.RepeatType, description="How a schedule recurs.")
RepeatUnit = strawberry.enum(enums.RepeatUnit, description="Unit of a custom repeat interval.")
ScheduleExecutionStatus = strawberry.enum(
    enums.ScheduleExecutionStatus, description="What became of one occurrence of a schedule."
)
Executor = strawberry.enum(
    enums.Executor,
    description="Who executes a run: SERVER (the workers replay proven steps) or CLIENT "
    "(an outside executor submits results).",
)
WebhookEvent = strawberry.enum(
    enums.WebhookEvent,
    description="What a webhook is told about: RUN_ENDED (every run, however started), "
    "SCHEDULE_FIRED, SCHEDULE_RUN_ENDED.",
)
DeliveryStatus = strawberry.enum(
    enums.DeliveryStatus,
    description="A webhook delivery: PENDING (trying, with backoff), DELIVERED, FAILED "
    "(refused, or out of attempts).",
)
