"""Runs under concurrent requests, each in its own committed transaction on its own connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.dispatch import RUNS_QUEUE, START_RUN, QueueDispatcher
from models.database import transaction
from models.enums import Role
from models.runs import TestRun
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.factories import make_project, make_test_case, make_user
from tests.fixtures.http import Caller
from tests.graphql import data, gql
from tests.schema.run_operations import CANCEL, START, STOP, create_run, sent

CREATE = """
mutation Create($key: String) {
  createTestRun(input: {runName: "Nightly"}, idempotencyKey: $key) { created run { id runNumber } }
}
"""
CONCURRENT = 20


class CommitWitness:
    """The real dispatcher, noting the run's status as another connection sees it when called.

    A status the call's own transaction set is only visible there once it has committed.
    """

    def __init__(
        self, dispatcher: QueueDispatcher, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.dispatcher = dispatcher
        self.session_factory = session_factory
        self.seen: list[tuple[str, str | None]] = []

    async def _witness(self, call: str, run_id: uuid.UUID) -> None:
        async with self.session_factory() as session:
            status = await session.scalar(select(TestRun.status).where(TestRun.id == run_id))
        self.seen.append((call, status))

    async def run_started(self, run_id: uuid.UUID) -> None:
        await self._witness("run_started", run_id)
        await self.dispatcher.run_started(run_id)


@pytest.fixture
def witness(
    committing_session_factory: async_sessionmaker[AsyncSession], stub_broker: StubBroker
) -> CommitWitness:
    stub_broker.declare_queue(RUNS_QUEUE)
    return CommitWitness(QueueDispatcher(stub_broker), committing_session_factory)


@pytest.fixture
async def committing_client(
    settings: Settings,
    committing_session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    witness: CommitWitness,
) -> AsyncIterator[httpx.AsyncClient]:
    services = Services(
        settings=settings,
        session_factory=committing_session_factory,
        redis=redis,
        dispatcher=witness,
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def committed_editor(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> Caller:
    async with transaction(committing_session_factory) as session:
        project = await make_project(session)
        user = await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
        _, token = await create_api_token(
            session, user_id=user.id, project_id=project.id, role=Role.EDITOR
        )
    return Caller(project=project, user=user, role=Role.EDITOR, token=token)


async def create_concurrently(
    client: httpx.AsyncClient, caller: Caller, key: str | None
) -> list[dict[str, Any]]:
    bodies = await asyncio.gather(
        *(gql(client, caller, CREATE, key=key) for _ in range(CONCURRENT))
    )
    return [data(body)["createTestRun"] for body in bodies]


async def test_concurrent_creates_get_consecutive_run_numbers(
    committing_client: httpx.AsyncClient, committed_editor: Caller
) -> None:
    created = await create_concurrently(committing_client, committed_editor, key=None)

    assert sorted(item["run"]["runNumber"] for item in created) == list(range(1, CONCURRENT + 1))
    assert all(item["created"] for item in created)


async def test_concurrent_creates_with_one_idempotency_key_make_one_run(
    committing_client: httpx.AsyncClient,
    committed_editor: Caller,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = await create_concurrently(committing_client, committed_editor, key="deploy-7f3a")

    assert len({item["run"]["id"] for item in created}) == 1
    assert sum(item["created"] for item in created) == 1
    async with committing_session_factory() as session:
        runs = (await session.scalars(select(TestRun))).all()
    assert [(str(run.id), run.run_number) for run in runs] == [(created[0]["run"]["id"], 1)]


async def test_workers_hear_of_a_run_only_once_its_change_is_committed(
    committing_client: httpx.AsyncClient,
    committed_editor: Caller,
    committing_session_factory: async_sessionmaker[AsyncSession],
    witness: CommitWitness,
    stub_broker: StubBroker,
) -> None:
    async with transaction(committing_session_factory) as session:
        case = await make_test_case(session, committed_editor.project)
    run = await create_run(committing_client, committed_editor, testCaseIds=[str(case.id)])

    data(await gql(committing_client, committed_editor, START, id=run["id"]))
    data(await gql(committing_client, committed_editor, STOP, id=run["id"]))

    assert witness.seen == [("run_started", "running")]
    assert sent(stub_broker) == [(START_RUN, [run["id"]])]


async def test_racing_start_and_cancel_end_cancelled_without_internal_errors(
    committing_client: httpx.AsyncClient,
    committed_editor: Caller,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(committing_session_factory) as session:
        case = await make_test_case(session, committed_editor.project)
    for _ in range(5):
        run = await create_run(committing_client, committed_editor, testCaseIds=[str(case.id)])

        start, cancel = await asyncio.gather(
            gql(committing_client, committed_editor, START, id=run["id"]),
            gql(committing_client, committed_editor, CANCEL, id=run["id"]),
        )

        assert not cancel.get("errors"), cancel
        start_codes = {e["extensions"]["code"] for e in start.get("errors", [])}
        assert start_codes <= {"INVALID_STATE"}, start
        async with committing_session_factory() as session:
            status = await session.scalar(
                select(TestRun.status).where(TestRun.id == uuid.UUID(run["id"]))
            )
        assert status == "cancelled"
