"""A script variable an admin sets through the API reaches a script in a real run, and only it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from redis.asyncio import Redis

from execution.dispatch import QueueDispatcher
from execution.engine import Engine
from models.database import transaction
from models.enums import Role
from models.results import ScriptResult
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.execution.engine_harness import Team, login_steps, rows
from tests.factories import make_user
from tests.fixtures.http import Caller
from tests.graphql import data

SECRET = "pw-7f3c9a1e-of-the-system-under-test"
SET = """
mutation ($name: String!, $value: String!) {
  setScriptVariable(name: $name, value: $value) { name createdAt updatedAt }
}
"""
LIST = "{ scriptVariables { items { name createdAt updatedAt } total } }"


@pytest.fixture
async def committing_client(
    settings: Settings, team: Team, redis: Redis, stub_broker: StubBroker
) -> AsyncIterator[httpx.AsyncClient]:
    """The api on sessions that commit, so the engine's worker sees what it writes."""
    services = Services(
        settings=settings,
        session_factory=team.sessions,
        redis=redis,
        dispatcher=QueueDispatcher(stub_broker),
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def admin_of(team: Team) -> Caller:
    async with transaction(team.sessions) as session:
        user = await make_user(session)
        await ensure_member(session, project_id=team.project.id, user_id=user.id, role=Role.ADMIN)
        _, token = await create_api_token(
            session, user_id=user.id, project_id=team.project.id, role=Role.ADMIN
        )
    return Caller(project=team.project, user=user, role=Role.ADMIN, token=token)


async def test_a_variable_reaches_the_script_and_no_api_answer(
    running_engine: Engine,
    team: Team,
    site: str,
    stub_broker: StubBroker,
    committing_client: httpx.AsyncClient,
) -> None:
    admin = await admin_of(team)
    answers = [
        await committing_client.post(
            "/graphql",
            json={"query": SET, "variables": {"name": "API_PASSWORD", "value": SECRET}},
            headers=admin.headers,
        ),
        await committing_client.put(
            "/api/v1/script-variables/API_USER", json={"value": "qa-bot"}, headers=admin.headers
        ),
        await committing_client.post("/graphql", json={"query": LIST}, headers=admin.headers),
        await committing_client.get("/api/v1/script-variables", headers=admin.headers),
    ]
    seed = await team.script(
        name="Log in to the API",
        script_type="pre_execution",
        language="shell",
        code='echo "$API_USER:$API_PASSWORD run=$TESTRUN_RUN_ID"',
    )
    run_id = await team.run_of([{"proven_steps": login_steps(site), "pre_script_ids": [seed.id]}])

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (script,) = await rows(team, ScriptResult, script_name="Log in to the API")
    assert (script.status, script.stdout) == ("passed", f"qa-bot:{SECRET} run={run_id}\n")
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    listed = data(answers[2].json())["scriptVariables"]
    assert [item["name"] for item in listed["items"]] == ["API_PASSWORD", "API_USER"]
    for answer in answers:
        assert SECRET not in answer.text and "qa-bot" not in answer.text
