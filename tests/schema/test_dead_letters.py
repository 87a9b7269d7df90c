"""`deadLetters` and `replayDeadLetter`: admins of the run's project only."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from execution.broker import create_broker
from execution.dead_letters import RedisDeadLetterBox
from models.enums import Role
from server.app import create_app
from server.services import Services
from tests.factories import make_run
from tests.fixtures.broker import KillMessage
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

LETTERS = """
query Letters($limit: Int!) {
  deadLetters(limit: $limit) { id queueName actorName args retries error runId itemId failedAt }
}
"""
REPLAY = "mutation Replay($id: String!) { replayDeadLetter(id: $id) { id runId } }"


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    found = create_broker(redis_url)
    yield found  # type: ignore[misc]
    found.close()


@pytest.fixture
async def client(
    services: Services, redis: Redis, broker: RedisBroker
) -> AsyncIterator[httpx.AsyncClient]:
    with_box = dataclasses.replace(services, dead_letters=RedisDeadLetterBox(redis, broker))
    transport = httpx.ASGITransport(app=create_app(services=with_box))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def admin(make_caller: MakeCaller) -> Caller:
    return await make_caller(role=Role.ADMIN)


async def test_an_admin_sees_the_dead_letters_of_the_projects_runs_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Caller,
    make_caller: MakeCaller,
    dead_letter: KillMessage,
) -> None:
    run = await make_run(session, admin.project, admin.user, status="running")
    other = await make_caller(role=Role.ADMIN)
    elsewhere = await make_run(session, other.project, other.user, status="running")
    letter_id = await dead_letter(run.id)
    await dead_letter(elsewhere.id)

    (letter,) = data(await gql(client, admin, LETTERS, limit=100))["deadLetters"]

    assert letter["id"] == letter_id
    assert (letter["queueName"], letter["actorName"]) == ("runs", "start_run")
    assert (letter["args"], letter["runId"], letter["itemId"]) == ([str(run.id)], str(run.id), None)
    assert letter["retries"] == 1
    assert "ConnectionRefusedError" in letter["error"]


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
async def test_other_roles_are_forbidden_dead_letters(
    client: httpx.AsyncClient, make_caller: MakeCaller, role: Role
) -> None:
    caller = await make_caller(role=role)

    listed = error(await gql(client, caller, LETTERS, limit=10))
    replayed = error(await gql(client, caller, REPLAY, id="anything"))

    assert listed["code"] == replayed["code"] == "FORBIDDEN"
    assert "admin token" in listed["message"]


async def test_the_limit_is_checked(client: httpx.AsyncClient, admin: Caller) -> None:
    found = error(await gql(client, admin, LETTERS, limit=101))

    assert found["code"] == "VALIDATION_ERROR"
    assert [item["field"] for item in found["fields"]] == ["limit"]


async def test_an_admin_replays_a_letter_of_the_project_and_not_another_projects(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Caller,
    make_caller: MakeCaller,
    dead_letter: KillMessage,
) -> None:
    run = await make_run(session, admin.project, admin.user, status="running")
    other = await make_caller(role=Role.ADMIN)
    letter_id = await dead_letter(run.id)

    refused = error(await gql(client, other, REPLAY, id=letter_id))
    replayed = data(await gql(client, admin, REPLAY, id=letter_id))["replayDeadLetter"]
    again = error(await gql(client, admin, REPLAY, id=letter_id))

    assert refused == {"message": f"Dead letter not found: {letter_id}", "code": "NOT_FOUND"}
    assert replayed == {"id": letter_id, "runId": str(run.id)}
    assert again["code"] == "NOT_FOUND", "a replayed letter is forgotten"
