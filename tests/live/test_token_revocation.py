"""Open subscriptions end within seconds once their token is revoked or expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets
from sqlalchemy import select

from models.database import transaction
from models.enums import Role
from models.tenancy import ApiToken
from resolvers.tokens import create_api_token, hash_token
from server.settings import Settings
from tests.factories import make_run
from tests.live.harness import EVENTS, Api, Writer, raw_socket, receive, send

# The api re-checks tokens every `token_recheck_s`; a close must come within a few of them.
CLOSE_WITHIN_S = 3 * Settings.model_fields["token_recheck_s"].default + 2


async def subscribed_socket(api: Api, writer: Writer, token: str) -> websockets.ClientConnection:
    async with transaction(writer.team.sessions) as session:
        run = await make_run(session, writer.team.project, writer.team.user, status="running")
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await receive(socket))["type"] == "connection_ack"
    variables = {"runId": str(run.id), "afterSeq": 0}
    await send(
        socket,
        {"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}},
    )
    await send(socket, {"type": "ping"})
    assert (await receive(socket))["type"] == "pong"
    return socket


async def closed_code(socket: websockets.ClientConnection) -> int | None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await receive(socket, timeout=CLOSE_WITHIN_S)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_revoking_a_token_closes_its_subscriptions_and_refuses_its_requests(
    api: Api, writer: Writer
) -> None:
    admin = await writer.token(Role.ADMIN)
    viewer = await writer.token(Role.VIEWER)
    bystander = await writer.token(Role.VIEWER)
    socket = await subscribed_socket(api, writer, viewer)
    async with writer.team.sessions() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == hash_token(viewer))
        )
    other_socket = await subscribed_socket(api, writer, bystander)
    async with httpx.AsyncClient(base_url=api.http_url) as client:
        revoked = await client.post(
            f"/api/v1/api-tokens/{token_id}/revoke", headers={"Authorization": f"Bearer {admin}"}
        )
        code = await closed_code(socket)
        after = await client.get("/api/v1/test-runs", headers={"Authorization": f"Bearer {viewer}"})
    await send(other_socket, {"type": "ping"})
    still_open = await receive(other_socket)
    await other_socket.close()

    assert revoked.status_code == 200
    assert code == 4403
    assert after.status_code == 401
    assert still_open["type"] == "pong"


async def test_a_token_that_expires_closes_its_subscriptions(api: Api, writer: Writer) -> None:
    async with transaction(writer.team.sessions) as session:
        _, token = await create_api_token(
            session,
            user_id=writer.team.user.id,
            project_id=writer.team.project.id,
            role=Role.VIEWER,
            expires_at=datetime.now(UTC) + timedelta(seconds=2),
        )
    socket = await subscribed_socket(api, writer, token)

    assert await closed_code(socket) == 4403
