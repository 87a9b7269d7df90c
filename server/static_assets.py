"""Files the api serves to browsers from server/static: GraphiQL's page and its vendored assets."""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"


@functools.cache
def graphiql_page() -> str:
    """GraphiQL's HTML; it loads React, GraphiQL and graphql-ws from /static, never a CDN."""
    return (STATIC_DIR / "graphiql" / "index.html").read_text()


def static_routes() -> list[Mount]:
    """`/static/...`: public files (they hold no data), cached by the browser."""
    return [Mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIR), name="static")]
