"""Liveness (`/healthz`) and readiness (`/readyz`: PostgreSQL and Redis answer)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.services import Services


async def healthz(request: Request) -> JSONResponse:
    """The process is up; says nothing about what it depends on."""
    return JSONResponse({"status": "ok"})


async def _check_postgres(services: Services) -> None:
    async with services.read_sessions() as session:
        await session.execute(text("SELECT 1"))


async def _check_redis(services: Services) -> None:
    await services.redis.ping()


async def _outcome(check: asyncio.Future[None] | asyncio.Task[None], timeout: float) -> str:
    try:
        await asyncio.wait_for(check, timeout)
    except TimeoutError:
        return f"timed out after {timeout:g}s"
    except Exception as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return "ok"


async def readyz(request: Request) -> JSONResponse:
    """200 when PostgreSQL and Redis both answer; 503 naming the part that does not."""
    services: Services = request.app.state.services
    timeout = services.settings.readiness_timeout_s
    postgres, redis = await asyncio.gather(
        _outcome(asyncio.ensure_future(_check_postgres(services)), timeout),
        _outcome(asyncio.ensure_future(_check_redis(services)), timeout),
    )
    checks = {"postgres": postgres, "redis": redis}
    failing = [name for name, outcome in checks.items() if outcome != "ok"]
    if failing:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"Not ready: {', '.join(failing)} unavailable",
                "failing": failing,
                "checks": checks,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "checks": checks})
