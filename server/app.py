"""The Starlette application: GraphQL (HTTP and WebSocket), REST, artifacts, live views, health."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from resolvers.tokens import Principal
from schema import schema
from schema.context import Context
from schema.errors import UNAVAILABLE
from server.artifacts import artifact_links, artifact_routes, request_base_url
from server.auth import BearerAuthMiddleware, request_reads
from server.dashboard.routes import dashboard_routes
from server.database_outage import RETRY_LATER, DatabaseOutageMiddleware
from server.health import healthz, readyz
from server.live_view import live_page, live_stream
from server.metrics import metrics
from server.rest.api import rest_routes
from server.services import Services
from server.settings import Settings, get_settings
from server.static_assets import graphiql_page, static_routes
from server.websocket import GraphQLSocketShortcut
from server.websocket_fan_out import SubscriptionGroups
from server.websocket_operations import SharedResults

logger = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry over HTTP, with the caller and database in the context.

    Responses are encoded by orjson. Requests are still decoded by `json`: orjson reads an
    integer beyond 64 bits as a float, and a client's JSON values must come back as sent.
    """

    def encode_json(self, data: object) -> str | bytes:
        """The response: a 100-item run in 0.03 ms where `json.dumps` takes 0.4."""
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits in a JSON value
            return super().encode_json(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL with its assets served by this api, so it works with no internet."""
        return HTMLResponse(graphiql_page())

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The result as JSON; 503 (like REST) when the database was away for any of it."""
        response = super().create_response(response_data, sub_response)
        results = response_data if isinstance(response_data, list) else [response_data]
        codes = {
            (error.get("extensions") or {}).get("code")
            for result in results
            for error in result.get("errors") or []
            if isinstance(error, dict)
        }
        if UNAVAILABLE in codes:
            response.status_code = 503
            response.headers.update(RETRY_LATER)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        """The request's principal (set by the auth middleware) and the session factory."""
        services: Services = request.app.state.services
        principal = request.scope.get("state", {}).get("principal")
        return Context(
            session_factory=services.session_factory,
            caller=principal if isinstance(principal, Principal) else None,
            dispatcher=services.dispatcher,
            read_session_factory=services.read_sessions,
            reads=request_reads(request.scope),
            links=artifact_links(services.settings, request_base_url(services.settings, request)),
            flaky_window=services.settings.flaky_window,
            dead_letters=services.dead_letters,
        )


# Young-generation threshold of a serving process. A response of a few hundred rows
# allocates ~100k objects; at CPython's default of 700 that is a hundred collections per
# request, each walking the survivors of the last, most of the p99 in bench/read_api.
GC_YOUNG_THRESHOLD = 50_000


def settle_garbage_collector() -> None:
    """Keep start-up objects out of every later collection and collect less often.

    Modules, the schema and the pools live as long as the process: `gc.freeze()` moves
    them to the permanent generation, so a full collection no longer walks them.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def http_error(request: Request, error: Exception) -> Response:
    """Unknown paths and wrong methods answer the REST error body too: `{"detail": ...}`."""
    assert isinstance(error, HTTPException)
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )


async def internal_error(request: Request, error: Exception) -> Response:
    """A bug: the same JSON shape, no internals (the traceback is logged by the server)."""
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Starlette:
    """The api. With `services` given (tests), it uses them and does not close them."""
    settings = settings or (services.settings if services else get_settings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        app.state.services = Services.from_settings(settings)
        app.state.services.start()
        logger.info(
            "api ready in %s mode%s",
            app.state.services.mode,
            ": runs execute in this process, without Redis" if settings.inline else "",
        )
        settle_garbage_collector()
        try:
            yield
        finally:
            await app.state.services.aclose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/graphql", GraphQLApp(schema, graphql_ide="graphiql"), methods=["GET", "POST"]),
            Route("/live/{item_id}", live_page, methods=["GET"]),
            Route("/live/{item_id}/stream", live_stream, methods=["GET"]),
            *rest_routes(),
            *artifact_routes(),
            *static_routes(),
            *dashboard_routes(),
        ],
        middleware=[
            Middleware(GraphQLSocketShortcut),
            Middleware(DatabaseOutageMiddleware),
            Middleware(BearerAuthMiddleware),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    app.state.subscription_groups = SubscriptionGroups(
        SharedResults(), queue_limit=settings.subscriber_queue_limit
    )
    return app
