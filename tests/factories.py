"""Rows for tests: each factory adds one valid row, flushes it and returns the ORM object.

Every column can be overridden by keyword; unique values (emails, names) are random so
factories can be called any number of times inside one test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Project,
    Schedule,
    TestCase,
    TestRun,
    TestRunItem,
    TestRunResult,
    TestScript,
    User,
)
from models.enums import ResultStatus, Role
from resolvers.tokens import Principal


def _unique() -> str:
    return uuid.uuid4().hex[:12]


async def make_user(session: AsyncSession, **overrides: Any) -> User:
    suffix = _unique()
    values: dict[str, Any] = {"email": f"user-{suffix}@example.com", "name": f"User {suffix}"}
    user = User(**(values | overrides))
    session.add(user)
    await session.flush()
    return user


async def make_project(
    session: AsyncSession, *, tenant_id: str = "acme", **overrides: Any
) -> Project:
    values: dict[str, Any] = {"tenant_id": tenant_id, "name": f"Project {_unique()}"}
    project = Project(**(values | overrides))
    session.add(project)
    await session.flush()
    return project


def principal_of(project: Project, user: User, role: Role = Role.EDITOR) -> Principal:
    """The caller `user` with `role` in `project`, as the resolvers see an authenticated one."""
    return Principal(
        token_id=uuid.uuid4(),
        user_id=user.id,
        project_id=project.id,
        tenant_id=project.tenant_id,
        role=role,
    )


async def make_script(session: AsyncSession, project: Project, **overrides: Any) -> TestScript:
    """A non-critical python pre-execution script that prints and succeeds."""
    values: dict[str, Any] = {
        "project_id": project.id,
        "name": f"Script {_unique()}",
        "script_type": "pre_execution",
        "language": "python",
        "code": "print('ok')",
        "is_critical": False,
        "timeout_seconds": 10,
    }
    script = TestScript(**(values | overrides))
    session.add(script)
    await session.flush()
    return script


async def make_test_case(session: AsyncSession, project: Project, **overrides: Any) -> TestCase:
    values: dict[str, Any] = {
        "project_id": project.id,
        "name": f"Test case {_unique()}",
        "suite_path": ["ROOT", "Smoke"],
        "suite_name": "Smoke",
        # The recorder's format (runs-execute.md "Proven Steps Structure").
        "proven_steps": [
            {
                "step_number": 1,
                "tool_name": "e2b_browser",
                "arguments": {"action": "navigate_to", "url": "https://example.com"},
            },
            {
                "step_number": 2,
                "tool_name": "e2b_browser",
                "arguments": {"action": "assert_url_contains", "expected_text": "example"},
            },
        ],
    }
    test_case = TestCase(**(values | overrides))
    session.add(test_case)
    await session.flush()
    return test_case


async def make_run(
    session: AsyncSession, project: Project, user: User, **overrides: Any
) -> TestRun:
    """A pending run numbered after the project's last one (Run_001, Run_002, ...)."""
    last = await session.scalar(
        select(func.coalesce(func.max(TestRun.run_number), 0)).where(
            TestRun.project_id == project.id
        )
    )
    run_number = overrides.pop("run_number", (last or 0) + 1)
    values: dict[str, Any] = {
        "project_id": project.id,
        "created_by": user.id,
        "run_number": run_number,
        "run_name": f"Run_{run_number:03d}",
    }
    run = TestRun(**(values | overrides))
    session.add(run)
    await session.flush()
    return run


async def make_item(
    session: AsyncSession, run: TestRun, test_case: TestCase, **overrides: Any
) -> TestRunItem:
    """A pending item placed after the run's last one."""
    last = await session.scalar(
        select(func.coalesce(func.max(TestRunItem.execution_order), 0)).where(
            TestRunItem.test_run_id == run.id
        )
    )
    values: dict[str, Any] = {
        "test_run_id": run.id,
        "test_case_id": test_case.id,
        "execution_order": (last or 0) + 1,
    }
    item = TestRunItem(**(values | overrides))
    session.add(item)
    await session.flush()
    return item


async def make_result(session: AsyncSession, item: TestRunItem, **overrides: Any) -> TestRunResult:
    """A passed result of the item, in the item's run and for its test case."""
    values: dict[str, Any] = {
        "test_run_id": item.test_run_id,
        "test_run_item_id": item.id,
        "test_case_id": item.test_case_id,
        "status": ResultStatus.PASSED.value,
        "started_at": datetime.now(UTC),
    }
    result = TestRunResult(**(values | overrides))
    session.add(result)
    await session.flush()
    return result


async def make_schedule(
    session: AsyncSession, project: Project, user: User, **overrides: Any
) -> Schedule:
    """An active one-time schedule, due in the future."""
    values: dict[str, Any] = {
        "project_id": project.id,
        "created_by": user.id,
        "schedule_name": f"Schedule {_unique()}",
        "scheduled_datetime": datetime(2030, 1, 1, 2, tzinfo=UTC),
        "next_execution_at": datetime(2030, 1, 1, 2, tzinfo=UTC),
    }
    schedule = Schedule(**(values | overrides))
    session.add(schedule)
    await session.flush()
    return schedule
