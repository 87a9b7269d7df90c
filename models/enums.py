"""The status and kind values of the spec, shared by models, resolvers, GraphQL and REST.

Stored as VARCHAR (as test-run-api.md defines the columns); the enums give them names.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a test run is in its life."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


FINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.CANCELLED, RunStatus.FAILED})


class ItemStatus(StrEnum):
    """Where one test case of a run is."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    NO_RUN = "no_run"


FINAL_ITEM_STATUSES = frozenset(
    {ItemStatus.PASSED, ItemStatus.FAILED, ItemStatus.SKIPPED, ItemStatus.NO_RUN}
)


class ResultStatus(StrEnum):
    """Outcome of one attempt (or data row) of a test case, and of one step."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


StepStatus = ResultStatus


class CheckpointStatus(StrEnum):
    """Outcome of one checkpoint."""

    PASSED = "passed"
    FAILED = "failed"


class CheckpointType(StrEnum):
    """What a checkpoint verifies."""

    ELEMENT = "element"
    SCREENSHOT = "screenshot"
    API = "api"
    DOWNLOAD = "download"


class ScriptType(StrEnum):
    """When a script runs."""

    PRE_EXECUTION = "pre_execution"
    POST_EXECUTION = "post_execution"
    ON_DEMAND = "on_demand"


class ScriptLanguage(StrEnum):
    """What a script is written in."""

    PYTHON = "python"
    SHELL = "shell"
    JAVASCRIPT = "javascript"


class LogLevel(StrEnum):
    """Level of a browser console message."""

    LOG = "log"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    DEBUG = "debug"


class ScheduleStatus(StrEnum):
    """Whether a schedule still fires."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RepeatType(StrEnum):
    """How a schedule recurs."""

    NONE = "none"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CUSTOM = "custom"


class RepeatUnit(StrEnum):
    """Unit of `repeat_interval` for custom schedules."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class ScheduleExecutionStatus(StrEnum):
    """What became of one occurrence of a schedule."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Executor(StrEnum):
    """Who executes a run: the workers, or an outside client submitting results."""

    SERVER = "server"
    CLIENT = "client"


class Role(StrEnum):
    """What an API token may do in its project."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def can_write(self) -> bool:
        """Editors and admins change data and run tests; viewers only read."""
        return self in (Role.EDITOR, Role.ADMIN)


class WebhookEvent(StrEnum):
    """What a project's webhook is told about."""

    RUN_ENDED = "run.ended"
    SCHEDULE_FIRED = "schedule.fired"
    SCHEDULE_RUN_ENDED = "schedule.run_ended"


class DeliveryStatus(StrEnum):
    """Where one webhook delivery is: still trying, delivered, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
