"""Concurrent submitters for one run over HTTP, against an api whose transactions commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.dispatch import QueueDispatcher
from models import RunEvent, TestRun, TestRunItem
from models.database import transaction
from models.enums import Role
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.factories import make_item, make_project, make_run, make_test_case, make_user
from tests.fixtures.http import Caller
from tests.graphql import data, gql
from tests.schema.test_results import ADD_STEPS, SUBMIT, steps

ITEMS = 10
FAILING = {2, 5, 8}


@pytest.fixture
async def committing_client(
    settings: Settings,
    committing_session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    stub_broker: StubBroker,
) -> AsyncIterator[httpx.AsyncClient]:
    """The api on sessions that really commit, so concurrent requests see each other."""
    services = Services(
        settings=settings,
        session_factory=committing_session_factory,
        redis=redis,
        dispatcher=QueueDispatcher(stub_broker),
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def client_run(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[Caller, TestRun, list[TestRunItem]]:
    async with transaction(session_factory) as session:
        project, user = await make_project(session), await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
        _, token = await create_api_token(
            session, user_id=user.id, project_id=project.id, role=Role.EDITOR
        )
        started = datetime.now(UTC) - timedelta(minutes=5)
        run = await make_run(
            session, project, user, status="running", executor="client", started_at=started
        )
        items = [
            await make_item(session, run, await make_test_case(session, project), status="queued")
            for _ in range(ITEMS)
        ]
    return Caller(project, user, Role.EDITOR, token), run, items


def submission(run: TestRun, item: TestRunItem, index: int) -> dict[str, Any]:
    return {
        "testRunId": str(run.id),
        "testRunItemId": str(item.id),
        "testCaseId": str(item.test_case_id),
        "status": "FAILED" if index in FAILING else "PASSED",
        "durationMs": 1_000 * (index + 1),
    }


async def test_concurrent_submitters_complete_the_run_once_with_exact_numbers(
    committing_client: httpx.AsyncClient,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    caller, run, items = await client_run(committing_session_factory)

    submitted = await asyncio.gather(
        *(
            gql(committing_client, caller, SUBMIT, input=submission(run, item, index))
            for index, item in enumerate(items)
        )
    )
    result_ids = [data(body)["submitTestRunResult"]["id"] for body in submitted]
    # Two batches per result at once: the run is completed by now, details still arrive.
    batches = [steps(6, 2, first=1), steps(2, first=9)]
    added = await asyncio.gather(
        *(
            gql(committing_client, caller, ADD_STEPS, id=result_id, steps=batch)
            for result_id in result_ids
            for batch in batches
        )
    )

    for body in added:
        data(body)
    async with committing_session_factory() as session:
        found = await session.scalar(select(TestRun).where(TestRun.id == run.id))
        assert found is not None
        assert found.status == "completed"
        assert (found.total_tests, found.passed_tests, found.failed_tests) == (10, 7, 3)
        assert str(found.pass_rate) == "70.00"
        assert found.current_item_index == ITEMS
        events = (
            await session.execute(
                select(RunEvent.seq, RunEvent.type)
                .where(RunEvent.test_run_id == run.id)
                .order_by(RunEvent.seq)
            )
        ).all()
        item_rows = (
            await session.scalars(select(TestRunItem).where(TestRunItem.test_run_id == run.id))
        ).all()
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert [kind for _, kind in events].count("run.completed") == 1
    assert [kind for _, kind in events].count("result.submitted") == ITEMS
    assert all(
        (item.total_steps, item.passed_steps, item.failed_steps) == (10, 8, 2) for item in item_rows
    )
    assert sorted(item.status for item in item_rows) == ["failed"] * 3 + ["passed"] * 7


async def test_racing_submissions_for_one_item_record_one_result(
    committing_client: httpx.AsyncClient,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    caller, run, items = await client_run(committing_session_factory)

    bodies = await asyncio.gather(
        *(
            gql(committing_client, caller, SUBMIT, input=submission(run, items[0], 0))
            for _ in range(5)
        )
    )

    codes = sorted(
        body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies
    )
    assert codes == ["INVALID_STATE"] * 4 + ["OK"]
    async with committing_session_factory() as session:
        item = await session.scalar(select(TestRunItem).where(TestRunItem.id == items[0].id))
    assert item is not None
    assert item.status == "passed"
