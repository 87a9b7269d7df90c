"""Bearer tokens: what gets in, what gets a 401, and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from models.enums import Role
from models.tenancy import ApiToken
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token, hash_token
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.factories import make_project, make_user
from tests.fixtures.http import Caller, MakeCaller

ME = {"query": "{ me { id email name role project { id name tenantId } } }"}


async def post_me(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json=ME, headers=headers)


async def test_a_valid_token_answers_me_with_its_user_project_and_role(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    response = await post_me(client, editor.headers)

    assert response.status_code == 200
    me = response.json()["data"]["me"]
    assert me["id"] == str(editor.user.id)
    assert me["email"] == editor.user.email
    assert me["role"] == "EDITOR"
    assert me["project"] == {
        "id": str(editor.project.id),
        "name": editor.project.name,
        "tenantId": editor.project.tenant_id,
    }


async def test_each_role_is_reported(client: httpx.AsyncClient, make_caller: MakeCaller) -> None:
    for role in Role:
        caller = await make_caller(role=role)
        response = await post_me(client, caller.headers)
        assert response.json()["data"]["me"]["role"] == role.name


async def test_missing_token_is_401_with_a_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=ME)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Missing bearer token" in response.json()["detail"]


async def test_malformed_headers_and_tokens_are_401(client: httpx.AsyncClient) -> None:
    for header in (
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Bearer trn_short",
        "Bearer trn_" + "!" * 43,
        "Bearer trn_" + "a" * 44,
    ):
        response = await post_me(client, {"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["detail"].startswith("Malformed"), header


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await post_me(client, {"Authorization": "Bearer trn_" + "A" * 43})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid bearer token"}


async def test_expired_token_is_401(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(editor.token))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )

    response = await post_me(client, editor.headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "Bearer token has expired"}


async def test_revoked_token_is_401(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(editor.token))
        .values(revoked_at=datetime.now(UTC))
    )

    response = await post_me(client, editor.headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "Bearer token has been revoked"}


async def test_token_is_stored_as_a_hash_only(session: AsyncSession, editor: Caller) -> None:
    stored = (await session.scalars(select(ApiToken))).all()

    assert [row.token_hash for row in stored] == [hash_token(editor.token)]
    for row in stored:
        assert editor.token not in (row.token_hash, row.prefix, row.name)
        assert len(row.prefix) < len(editor.token)


async def test_use_marks_the_token_last_used(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    token_row = await session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(editor.token))
    )
    assert token_row is not None
    assert token_row.last_used_at is None
    before = datetime.now(UTC)

    await post_me(client, editor.headers)

    await session.refresh(token_row)
    assert token_row.last_used_at is not None
    assert token_row.last_used_at >= before - timedelta(seconds=1)


async def committed_token(sessions: async_sessionmaker[AsyncSession]) -> tuple[ApiToken, str]:
    """A token (and its secret) of an editor, committed for the server's own sessions."""
    async with transaction(sessions) as session:
        project, user = await make_project(session), await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
        return await create_api_token(
            session, user_id=user.id, project_id=project.id, role=Role.EDITOR
        )


async def test_on_the_servers_own_sessions_use_marks_the_token_last_used(
    settings: Settings, committing_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # The server authenticates on a read session (no transaction): the mark must stick.
    token_row, token = await committed_token(committing_session_factory)
    services = Services.from_settings(settings)
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await post_me(client, {"Authorization": f"Bearer {token}"})
    finally:
        await services.aclose()

    assert response.json()["data"]["me"]["id"] == str(token_row.user_id)
    async with committing_session_factory() as session:
        marked = await session.scalar(
            select(ApiToken.last_used_at).where(ApiToken.id == token_row.id)
        )
    assert marked is not None


async def test_a_request_checks_its_token_and_reads_on_one_pooled_connection(
    settings: Settings, committing_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, token = await committed_token(committing_session_factory)
    services = Services.from_settings(settings)
    assert services.engine is not None
    checkouts: list[object] = []
    event.listen(services.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    transport = httpx.ASGITransport(app=create_app(services=services))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await post_me(client, headers)  # the first use also marks the token used
            checkouts.clear()
            response = await post_me(client, headers)
    finally:
        await services.aclose()

    assert response.status_code == 200 and "errors" not in response.json()
    assert len(checkouts) == 1


async def test_health_needs_no_token_and_other_routes_do(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/graphql", params={"query": "{ me { id } }"})).status_code == 401
    assert (await client.get("/no-such-route")).status_code == 401


async def test_graphiql_page_loads_in_a_browser_without_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
