"""Every REST operation, its routes, and the routes that describe them (/openapi.json, /docs)."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from server.rest import execute, reports, results, runs, schedules, script_variables
from server.rest.docs import render_docs
from server.rest.openapi import openapi_document
from server.rest.operations import AnyOperation, routes

OPERATIONS: list[AnyOperation] = [
    *runs.OPERATIONS,
    *reports.OPERATIONS,
    *results.OPERATIONS,
    *schedules.OPERATIONS,
    *execute.OPERATIONS,
    *script_variables.OPERATIONS,
]
DESCRIPTION = (
    "The REST compatibility routes of testrun (GraphQL at /graphql has the same operations). "
    "Send `Authorization: Bearer <token>` on every request. Errors: 400 "
    '`{"detail": "Validation error", "errors": [{"field", "message"}]}`, 401, 403 (a viewer '
    "token writing, or a non-admin one managing script variables), 404 "
    '`{"detail": "Test run not found: <id>"}`, 409, 422 '
    '`{"detail": "Cannot start test run: status is \'completed\'"}`. Lists answer '
    "`{items, total, limit, offset}` with `limit` 20 by default and at most 100."
)


def _version() -> str:
    try:
        return version("testrun")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0.0.0"


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document, built once per process."""
    return openapi_document(
        OPERATIONS, title="testrun", version=_version(), description=DESCRIPTION
    )


async def openapi_json(request: Request) -> Response:
    """The OpenAPI 3.1 document."""
    return JSONResponse(document())


async def docs(request: Request) -> Response:
    """The document as a page for people."""
    return HTMLResponse(_docs_page())


@functools.cache
def _docs_page() -> str:
    return render_docs(document())


def rest_routes() -> list[Route]:
    """The operations' routes, then /openapi.json and /docs."""
    return [
        *routes(OPERATIONS),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
