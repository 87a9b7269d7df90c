"""Project webhooks: set through the API, fired for every run end, signed, retried, logged."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, send_due_webhooks
from models.enums import Role
from tests.execution.notification_receivers import free_port, webhook_endpoint
from tests.factories import make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

SECRET = "a-shared-secret-of-some-length"
BASE = "https://testrun.example"
# The first retry waits this long: long enough that a send right after the first one is
# surely too soon on a loaded machine (300 ms was not), short enough to wait out.
FAST = timedelta(seconds=3)
SET = """
mutation Set($url: String!, $events: [WebhookEvent!], $secret: String) {
  setWebhook(url: $url, events: $events, secret: $secret) { generatedSecret webhook { url events } }
}
"""
DELIVERIES = """
{ webhookDeliveries { total items {
  id event status attempts statusCode lastError payload nextAttemptAt deliveredAt } } }
"""
CANCEL = "mutation Cancel($id: UUID!) { cancelTestRun(id: $id) { id status } }"


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the HMAC of the raw body, compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@pytest.fixture
async def admin(make_caller: MakeCaller) -> Caller:
    return await make_caller(role=Role.ADMIN)


async def new_run(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> str:
    created = await client.post(
        "/api/v1/test-runs", headers=caller.headers, json={"run_name": "Hooked run", **fields}
    )
    assert created.status_code == 201, created.text
    run_id: str = created.json()["id"]
    return run_id


async def deliveries(client: httpx.AsyncClient, admin: Caller) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = data(await gql(client, admin, DELIVERIES))["webhookDeliveries"][
        "items"
    ]
    return items


async def send(sessions: async_sessionmaker[AsyncSession], **options: Any) -> int:
    return await send_due_webhooks(sessions, base_url=BASE, first_backoff=FAST, **options)


async def test_a_run_cancelled_through_graphql_is_posted_signed_and_logged(
    client: httpx.AsyncClient,
    admin: Caller,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_endpoint(204) as hook:
        configured = data(await gql(client, admin, SET, url=hook.url, secret=SECRET))
        run_id = await new_run(client, admin)
        data(await gql(client, admin, CANCEL, id=run_id))

        sent = await send(session_factory)

    [delivery] = hook.deliveries
    body = json.loads(delivery.body)
    [logged] = await deliveries(client, admin)
    assert configured["setWebhook"] == {
        "generatedSecret": None,
        "webhook": {
            "url": hook.url,
            "events": ["RUN_ENDED", "SCHEDULE_FIRED", "SCHEDULE_RUN_ENDED"],
        },
    }
    assert sent == 1
    assert verify(SECRET, delivery.body, delivery.headers[SIGNATURE_HEADER])
    assert not verify("another-secret", delivery.body, delivery.headers[SIGNATURE_HEADER])
    assert delivery.headers[EVENT_HEADER] == "run.ended"
    assert body["event"] == "run.ended" and body["project_id"] == str(admin.project.id)
    assert body["delivery_id"] == delivery.headers[DELIVERY_HEADER] == logged["id"]
    assert body["test_run"]["id"] == run_id and body["test_run"]["status"] == "cancelled"
    assert body["test_run"]["url"] == f"{BASE}/api/v1/test-runs/{run_id}"
    assert logged["status"] == "DELIVERED" and logged["attempts"] == 1
    assert logged["statusCode"] == 204 and logged["lastError"] is None
    assert logged["deliveredAt"] is not None


async def test_a_client_run_completed_over_rest_fires_too(
    client: httpx.AsyncClient,
    admin: Caller,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    case = await make_test_case(session, admin.project)
    with webhook_endpoint(200) as hook:
        rest = await client.put(
            "/api/v1/webhook",
            headers=admin.headers,
            json={"url": hook.url, "events": ["run.ended"]},
        )
        secret = rest.json()["generated_secret"]
        run_id = await new_run(client, admin, executor="client")
        added = await client.post(
            f"/api/v1/test-runs/{run_id}/items/bulk",
            headers=admin.headers,
            json={"test_case_ids": [str(case.id)]},
        )
        [item] = added.json()["items"]
        await client.post(f"/api/v1/test-runs/{run_id}/start", headers=admin.headers, json={})
        submitted = await client.post(
            "/api/v1/test-run-results",
            headers=admin.headers,
            json={
                "test_run_id": run_id,
                "test_run_item_id": item["id"],
                "test_case_id": str(case.id),
                "status": "passed",
            },
        )
        assert submitted.status_code == 201, submitted.text
        await send(session_factory)

    [delivery] = hook.deliveries
    body = json.loads(delivery.body)
    listed = await client.get("/api/v1/webhook/deliveries", headers=admin.headers)
    assert rest.status_code == 200 and len(secret) == 64
    assert verify(secret, delivery.body, delivery.headers[SIGNATURE_HEADER])
    assert body["test_run"]["status"] == "completed" and body["test_run"]["passed_tests"] == 1
    assert listed.json()["items"][0]["status"] == "delivered"
    assert listed.json()["items"][0]["status_code"] == 200


async def test_a_failing_receiver_is_retried_after_a_backoff_with_the_same_bytes(
    client: httpx.AsyncClient,
    admin: Caller,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_endpoint(500, 204) as hook:
        data(await gql(client, admin, SET, url=hook.url, secret=SECRET))
        data(await gql(client, admin, CANCEL, id=await new_run(client, admin)))

        first = await send(session_factory)
        [after_first] = await deliveries(client, admin)
        too_soon = await send(session_factory)
        retry_at = datetime.fromisoformat(after_first["nextAttemptAt"])
        while datetime.now(UTC) < retry_at:  # the backoff the test chose, not a guess
            await asyncio.sleep(0.05)
        second = await send(session_factory)

    failed, retried = hook.deliveries
    [logged] = await deliveries(client, admin)
    assert (first, too_soon, second) == (1, 0, 1)
    assert after_first["status"] == "PENDING" and after_first["attempts"] == 1
    assert after_first["statusCode"] == 500
    assert after_first["lastError"] == f"{hook.url} answered 500"
    assert retried.body == failed.body
    assert retried.headers[DELIVERY_HEADER] == failed.headers[DELIVERY_HEADER]
    assert verify(SECRET, retried.body, retried.headers[SIGNATURE_HEADER])
    assert logged["status"] == "DELIVERED" and logged["attempts"] == 2
    assert logged["statusCode"] == 204 and logged["lastError"] is None


async def test_a_refusing_receiver_is_given_up_at_once(
    client: httpx.AsyncClient,
    admin: Caller,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_endpoint(410) as hook:
        data(await gql(client, admin, SET, url=hook.url, secret=SECRET))
        data(await gql(client, admin, CANCEL, id=await new_run(client, admin)))
        await send(session_factory)

    [logged] = await deliveries(client, admin)
    assert len(hook.deliveries) == 1
    assert (logged["status"], logged["attempts"], logged["statusCode"]) == ("FAILED", 1, 410)


async def test_an_unreachable_receiver_is_tried_up_to_the_limit_then_given_up(
    client: httpx.AsyncClient,
    admin: Caller,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks"  # nothing listens there
    data(await gql(client, admin, SET, url=url, secret=SECRET))
    data(await gql(client, admin, CANCEL, id=await new_run(client, admin)))

    tried = []
    for _ in range(2):
        tried.append(await send(session_factory, max_attempts=2))
        [logged] = await deliveries(client, admin)
        while datetime.now(UTC) < datetime.fromisoformat(logged["nextAttemptAt"]):
            await asyncio.sleep(0.05)

    assert tried == [1, 1]
    assert (logged["status"], logged["attempts"], logged["statusCode"]) == ("FAILED", 2, None)
    assert logged["lastError"].startswith("ConnectError")
    assert await send(session_factory) == 0


async def test_events_not_chosen_and_removed_webhooks_send_nothing(
    client: httpx.AsyncClient,
    admin: Caller,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_endpoint(204) as hook:
        data(await gql(client, admin, SET, url=hook.url, events=["SCHEDULE_FIRED"]))
        data(await gql(client, admin, CANCEL, id=await new_run(client, admin)))
        not_chosen = await deliveries(client, admin)
        data(await gql(client, admin, SET, url=hook.url))
        data(await gql(client, admin, CANCEL, id=await new_run(client, admin)))
        removed = await client.delete("/api/v1/webhook", headers=admin.headers)
        await send(session_factory)
        gone = await client.get("/api/v1/webhook", headers=admin.headers)

    [given_up] = await deliveries(client, admin)
    assert not_chosen == []
    assert removed.status_code == 204 and gone.status_code == 404
    assert hook.deliveries == []
    assert given_up["status"] == "FAILED"
    assert given_up["lastError"] == "The project's webhook was removed"


async def test_bad_webhook_settings_name_the_field(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    bad_url = error(await gql(client, admin, SET, url="ftp://hooks.example/x"))
    short_secret = error(await gql(client, admin, SET, url="https://hooks.example", secret="s"))
    rest = await client.put(
        "/api/v1/webhook", headers=admin.headers, json={"url": "https://", "events": ["nope"]}
    )

    assert bad_url["code"] == "VALIDATION_ERROR" and bad_url["fields"][0]["field"] == "url"
    assert short_secret["fields"][0]["field"] == "secret"
    assert rest.status_code == 400
    assert {item["field"] for item in rest.json()["errors"]} == {"url", "events.0"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
async def test_only_admins_manage_webhooks(
    client: httpx.AsyncClient, make_caller: MakeCaller, admin: Caller, role: Role
) -> None:
    caller = await make_caller(role=role, project=admin.project)
    data(await gql(client, admin, SET, url="https://hooks.example/a", secret=SECRET))

    answers = [
        error(await gql(client, caller, SET, url="https://evil.example", secret=SECRET)),
        error(await gql(client, caller, "{ webhook { url } }")),
        error(await gql(client, caller, DELIVERIES)),
        error(await gql(client, caller, "mutation { removeWebhook { url } }")),
    ]
    rest = [
        await client.put("/api/v1/webhook", headers=caller.headers, json={"url": "https://e.x"}),
        await client.get("/api/v1/webhook", headers=caller.headers),
        await client.get("/api/v1/webhook/deliveries", headers=caller.headers),
        await client.delete("/api/v1/webhook", headers=caller.headers),
    ]

    assert [answer["code"] for answer in answers] == ["FORBIDDEN"] * 4
    assert [response.status_code for response in rest] == [403] * 4
    kept = data(await gql(client, admin, "{ webhook { url } }"))
    assert kept == {"webhook": {"url": "https://hooks.example/a"}}
