"""`/metrics` access: off by default, a bearer token of its own, or public by setting."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.applications import Starlette

from server.app import create_app
from server.services import Services
from tests.fixtures.http import Caller


def with_settings(services: Services, **changes: object) -> Starlette:
    settings = services.settings.model_copy(update=changes)
    return create_app(
        services=Services(
            settings=settings,
            session_factory=services.session_factory,
            redis=services.redis,
            dispatcher=services.dispatcher,
        )
    )


async def get(app: Starlette, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/metrics", headers=headers)


async def test_metrics_are_off_until_a_token_or_public_access_is_set(services: Services) -> None:
    response = await get(with_settings(services))

    assert response.status_code == 404
    assert "TESTRUN_METRICS_TOKEN" in response.json()["detail"]


async def test_metrics_need_their_own_token_not_a_users(services: Services, editor: Caller) -> None:
    app = with_settings(services, metrics_token=SecretStr("scrape-secret"))

    missing = await get(app)
    a_users = await get(app, editor.headers)
    right = await get(app, {"Authorization": "Bearer scrape-secret"})

    assert (missing.status_code, a_users.status_code) == (401, 401)
    assert "metrics token" in missing.json()["detail"]
    assert right.status_code == 200, right.text
    assert right.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(right.text)}
    assert {"testrun_runs", "testrun_items", "testrun_queue_depth"} <= names


async def test_public_metrics_answer_without_a_token(services: Services) -> None:
    response = await get(with_settings(services, metrics_public=True))

    assert response.status_code == 200, response.text
