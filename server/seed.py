"""The demo data `testrun dev` creates once: a tenant's project, a user, two test cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from models.tenancy import Project, User
from models.test_cases import TestCase
from resolvers.tenancy import ensure_member, find_projects_by_name, get_or_create_user

DEMO_TENANT = "demo"
DEMO_PROJECT = "Demo"
DEMO_EMAIL = "demo@testrun.local"


@dataclass(frozen=True, slots=True)
class DemoData:
    """What the seed made (or found)."""

    project: Project
    user: User
    created: bool


def _step(number: int, **arguments: object) -> dict[str, object]:
    """A proven step in the recorder's format (runs-execute.md)."""
    return {"step_number": number, "tool_name": "e2b_browser", "arguments": arguments}


def demo_test_cases(base_url: str) -> list[dict[str, object]]:
    """Two test cases that replay against this api itself, so they run without internet."""
    return [
        {
            "name": "Health endpoint answers",
            "description": "Opens the api's liveness endpoint and checks it says ok.",
            "proven_steps": [
                _step(1, action="navigate_to", url=f"{base_url}/healthz"),
                _step(2, action="assert_url_contains", expected_text="/healthz"),
                _step(3, action="assert_text_present", search_text="ok"),
            ],
        },
        {
            "name": "GraphiQL opens",
            "description": "Opens the GraphQL explorer and checks its title.",
            "proven_steps": [
                _step(1, action="navigate_to", url=f"{base_url}/graphql"),
                _step(2, action="assert_title_contains", expected_text="GraphiQL"),
            ],
        },
    ]


async def seed_demo(session: AsyncSession, *, base_url: str) -> DemoData:
    """Create the demo project, user and test cases unless the project already exists."""
    user = await get_or_create_user(session, email=DEMO_EMAIL, name="Demo User")
    existing = await find_projects_by_name(session, name=DEMO_PROJECT, tenant_id=DEMO_TENANT)
    if existing:
        return DemoData(project=existing[0], user=user, created=False)
    project = Project(tenant_id=DEMO_TENANT, name=DEMO_PROJECT)
    session.add(project)
    await session.flush()
    await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.ADMIN)
    for case in demo_test_cases(base_url):
        session.add(
            TestCase(
                project_id=project.id,
                created_by=user.id,
                suite_path=["ROOT", "Demo"],
                suite_name="Demo",
                tags=["demo"],
                **case,
            )
        )
    await session.flush()
    return DemoData(project=project, user=user, created=True)
