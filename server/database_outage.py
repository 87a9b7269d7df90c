"""While PostgreSQL is away the api answers 503 with Retry-After, never 500."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.database import database_unavailable
from schema.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE

logger = logging.getLogger(__name__)

# When to try again: PostgreSQL restarts in seconds.
RETRY_LATER = {"Retry-After": "5"}


def unavailable_response(path: str) -> JSONResponse:
    """503 in the REST error shape, or GraphQL's on /graphql."""
    body: dict[str, object] = {"detail": UNAVAILABLE_MESSAGE}
    if path == "/graphql":
        body = {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": UNAVAILABLE}}]}
    return JSONResponse(body, status_code=503, headers=RETRY_LATER)


class DatabaseOutageMiddleware:
    """Turns PostgreSQL being unreachable, wherever a request meets it, into a 503.

    Outermost, so it covers authentication (the first query of most requests) as well as
    the routes. The error is answered, not re-raised: a re-raised one would make the
    server drop the client's keep-alive connection too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; answer 503 if it fails for want of the database."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if started or not database_unavailable(error):
                raise
            logger.warning("database unavailable for %s: %s", scope["path"], error)
            await unavailable_response(scope["path"])(scope, receive, send)
