"""Liveness (`/healthz`) and readiness (`/readyz`: PostgreSQL and Redis answer; the mode)."""

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
    if services.redis is not None:
        await services.redis.ping()


async def _outcome(check: asyncio.Future[None] | asyncio.Task[None], timeout: float) -> str:
    try:
        await asyncio.wait_for(check, timeout)
    except TimeoutError:
        return f"timed out after {timeout:g}s"
    except Exception as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return "ok"


# What inline mode cannot offer: the local live view relays its frames through Redis.
INLINE_LIVE_VIEW = "unavailable in inline mode (vncUrl is null)"


async def readyz(request: Request) -> JSONResponse:
    """200 when what the api needs answers; 503 naming the part that does not.

    `mode` says who executes runs: `redis` (workers; PostgreSQL and Redis are checked)
    or `inline` (this process; only PostgreSQL is checked, and the live view is off).
    """
    services: Services = request.app.state.services
    timeout = services.settings.readiness_timeout_s
    checks = {"postgres": _outcome(asyncio.ensure_future(_check_postgres(services)), timeout)}
    if services.redis is not None:
        checks["redis"] = _outcome(asyncio.ensure_future(_check_redis(services)), timeout)
    outcomes = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    failing = [name for name, outcome in outcomes.items() if outcome != "ok"]
    mode: dict[str, str] = {"mode": services.mode}
    if services.inline is not None:
        mode["live_view"] = INLINE_LIVE_VIEW
    if failing:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"Not ready: {', '.join(failing)} unavailable",
                "failing": failing,
                "checks": outcomes,
                **mode,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "checks": outcomes, **mode})
