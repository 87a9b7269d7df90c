"""SQLAlchemy 2 typed models of every table, the shared enums, and the session factory."""

from models.base import Base
from models.results import (
    CheckpointResult,
    ConsoleLog,
    NetworkLog,
    ScriptResult,
    TestExecutionHistory,
    TestRunResult,
    TestStepResult,
)
from models.runs import RunEvent, TestRun, TestRunItem
from models.schedules import Schedule, ScheduleExecution
from models.script_variables import ScriptVariable
from models.tenancy import ApiToken, Project, ProjectMember, User
from models.test_cases import TestCase, TestScript

__all__ = [
    "ApiToken",
    "Base",
    "CheckpointResult",
    "ConsoleLog",
    "NetworkLog",
    "Project",
    "ProjectMember",
    "RunEvent",
    "Schedule",
    "ScheduleExecution",
    "ScriptResult",
    "ScriptVariable",
    "TestCase",
    "TestExecutionHistory",
    "TestRun",
    "TestRunItem",
    "TestRunResult",
    "TestScript",
    "TestStepResult",
    "User",
]
