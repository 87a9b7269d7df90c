"""Liveness and readiness, with each dependency up and down."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import create_engine, create_session_factory
from server.app import create_app
from server.embedded import free_port
from server.services import Services
from server.settings import Settings


async def get(services: Services, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


async def test_healthz_is_ok(services: Services) -> None:
    response = await get(services, "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_postgres_and_redis_answer(services: Services) -> None:
    response = await get(services, "/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"postgres": "ok", "redis": "ok"},
        "mode": "redis",
    }


async def test_readyz_is_503_naming_redis_when_redis_is_down(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    services: Services,
) -> None:
    dispatcher = services.dispatcher
    unreachable = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    services = Services(
        settings=settings, session_factory=session_factory, redis=unreachable, dispatcher=dispatcher
    )

    response = await get(services, "/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"
    assert "redis" in body["detail"]
    await unreachable.aclose()


async def test_readyz_is_503_naming_postgres_when_postgres_is_down(
    settings: Settings, redis: Redis, services: Services
) -> None:
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/none", pool_size=1)
    services = Services(
        settings=settings,
        session_factory=create_session_factory(engine),
        redis=redis,
        dispatcher=services.dispatcher,
    )

    response = await get(services, "/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["postgres"]
    assert body["checks"]["redis"] == "ok"
    await engine.dispose()
