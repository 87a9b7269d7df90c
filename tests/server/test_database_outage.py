"""PostgreSQL stops under a running `testrun api`: 503 (never 500) until it is back."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from models.tenancy import ApiToken
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token
from schema.errors import UNAVAILABLE_MESSAGE
from server.app import create_app
from server.embedded import EmbeddedPostgres, free_port
from server.services import Services
from tests.factories import make_project, make_user
from tests.fixtures.databases import OWN_DATABASE
from tests.fixtures.http import Caller
from tests.live.harness import Api, api_process

RUNS = "/api/v1/test-runs"
QUERY = {"query": "{ testRuns { total } }"}


async def admin_token(database_url: str) -> str:
    engine = create_engine(database_url, pool_size=1)
    async with transaction(create_session_factory(engine)) as session:
        project, user = await make_project(session), await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.ADMIN)
        _, secret = await create_api_token(
            session, user_id=user.id, project_id=project.id, role=Role.ADMIN
        )
    await engine.dispose()
    return secret


@pytest.fixture
def api(own_postgres: EmbeddedPostgres, redis_url: str) -> Iterator[Api]:
    with api_process(own_postgres.url(OWN_DATABASE), redis_url) as found:
        yield found


@pytest.mark.slow
async def test_the_api_answers_503_while_postgresql_is_down_and_recovers_after(
    own_postgres: EmbeddedPostgres, api: Api
) -> None:
    token = await admin_token(own_postgres.url(OWN_DATABASE))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api.http_url, headers=headers, timeout=10) as client:
        assert (await client.get(RUNS)).status_code == 200

        own_postgres.stop()
        rest = await client.get(RUNS)
        graphql = await client.post("/graphql", json=QUERY)
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
        own_postgres.start()
        after = await client.get(RUNS)
        after_graphql = await client.post("/graphql", json=QUERY)
        ready_after = await client.get("/readyz")

    assert (rest.status_code, rest.json()) == (503, {"detail": UNAVAILABLE_MESSAGE})
    assert rest.headers["retry-after"] == "5"
    assert graphql.status_code == 503
    assert graphql.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["postgres"]
    assert "ConnectionRefusedError" in ready.json()["checks"]["postgres"]
    assert alive.status_code == 200
    assert after.status_code == 200
    assert after_graphql.json() == {"data": {"testRuns": {"total": 0}}}
    assert ready_after.status_code == 200


async def test_a_graphql_resolver_that_cannot_reach_postgresql_makes_the_answer_503(
    services: Services, session: AsyncSession, editor: Caller
) -> None:
    # The token is read through a live connection (and was marked used a moment ago);
    # the mutation's transaction goes to a port where no PostgreSQL listens.
    await session.execute(update(ApiToken).values(last_used_at=datetime.now(UTC)))
    dead = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/gone", pool_size=1)
    services = dataclasses.replace(
        services,
        session_factory=create_session_factory(dead),
        read_session_factory=services.session_factory,
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql",
            json={"query": f'mutation {{ deleteTestRun(id: "{uuid.uuid4()}") }}'},
            headers=editor.headers,
        )
    await dead.dispose()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    (error,) = response.json()["errors"]
    assert (error["message"], error["extensions"]) == (
        UNAVAILABLE_MESSAGE,
        {"code": "UNAVAILABLE"},
    )
