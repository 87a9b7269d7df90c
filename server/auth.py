"""Bearer-token authentication for every HTTP route but health, API docs and signed artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from models.database import transaction
from resolvers.artifacts import ARTIFACTS_PREFIX
from resolvers.errors import Unauthenticated
from resolvers.tokens import Principal, mark_token_used, verify_token
from server.dashboard import is_page_shell
from server.services import Services
from server.static_assets import STATIC_PREFIX

_READS = "testrun.reads"
# Health, and the API's description (it holds no data).
# /metrics checks its own token (TESTRUN_METRICS_TOKEN), not a user's.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"})
# Paths whose URLs carry their own signature (they open from links and <img> tags).
SIGNED_PREFIXES = (ARTIFACTS_PREFIX, "/live/")


def _is_public(path: str) -> bool:
    # Static files (GraphiQL's and the dashboard's code) and the dashboard's page shells hold
    # no data; the dashboard's parts, which do, need the token like any route.
    return (
        path in PUBLIC_PATHS
        or path.startswith((*SIGNED_PREFIXES, STATIC_PREFIX))
        or is_page_shell(path)
    )


def _is_graphiql_page(scope: Scope, headers: Headers) -> bool:
    """A browser loading GraphiQL: the page holds no data, and it cannot send a header."""
    return (
        scope["path"] == "/graphql"
        and scope["method"] == "GET"
        and "text/html" in headers.get("accept", "")
        and "query" not in scope.get("query_string", b"").decode()
    )


def _bearer_secret(headers: Headers) -> str:
    value = headers.get("authorization")
    if not value:
        raise Unauthenticated("Missing bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, secret = value.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("Malformed Authorization header: expected 'Bearer <token>'")
    return secret.strip()


def unauthenticated_response(message: str) -> JSONResponse:
    """401 with the REST error body and the challenge header."""
    return JSONResponse(
        {"detail": message},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="testrun"'},
    )


class BearerAuthMiddleware:
    """Puts the caller's `Principal` in `request.state.principal`, or answers 401.

    WebSocket connections pass through: GraphQL subscriptions authenticate in their
    `connection_init` payload, where browsers can put a token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate HTTP requests, then pass them on."""
        if scope["type"] != "http" or _is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _is_graphiql_page(scope, headers):
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        # The request's read session: the token is checked through it, and the request's
        # own reads (GraphQL, REST) go through it too, on the one pooled connection.
        reads = services.read_sessions()
        try:
            try:
                principal = await authenticate(services, reads, _bearer_secret(headers))
            except Unauthenticated as error:
                await unauthenticated_response(error.message)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["principal"] = principal
            state[_READS] = reads
            await self.app(scope, receive, send)
        finally:
            await reads.close()


async def authenticate(services: Services, reads: AsyncSession, secret: str) -> Principal:
    """The principal of `secret`, read through `reads`; the last-used mark only when due."""
    now = datetime.now(UTC)
    principal, mark_due = await verify_token(reads, secret, now=now)
    if mark_due:  # at most once a minute per token, in a transaction of its own
        await reads.close()  # never hold two connections: that deadlocks a busy pool
        async with transaction(services.session_factory) as session:
            await mark_token_used(session, principal.token_id, now=now)
    return principal


def request_reads(scope: Scope) -> AsyncSession | None:
    """The read session the request was authenticated with, open until the response ends."""
    reads = scope.get("state", {}).get(_READS)
    return reads if isinstance(reads, AsyncSession) else None
