"""`GET /artifacts/<path>`: screenshots, videos and traces behind signed, expiring URLs.

The URL itself is the permission (see `resolvers.artifacts`), so `<img>` tags in a
report load without an Authorization header; the auth middleware lets these through.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from execution.artifact_storage import ArtifactNotFound, LocalArtifactStorage
from resolvers.artifacts import (
    ARTIFACTS_PREFIX,
    ArtifactLinks,
    artifact_path,
    verify_artifact_signature,
)
from server.services import Services
from server.settings import Settings

EXPIRED = "Invalid or expired artifact link: reload the page that gave it for a fresh one"


def artifact_links(settings: Settings, base_url: str, *, stable: bool = False) -> ArtifactLinks:
    """The signer of one response's artifact and live view URLs (`TESTRUN_ARTIFACT_URL_TTL_S`).

    `stable`: see `link_expiry`.
    """
    return ArtifactLinks(
        secret=settings.secret_key.get_secret_value(),
        base_url=base_url.rstrip("/"),
        expires_at=link_expiry(settings.artifact_url_ttl_s, stable=stable),
    )


def link_expiry(ttl: int, *, stable: bool = False) -> datetime:
    """When links signed now expire: in `ttl` seconds, or, `stable`, rounded to half of it.

    Rounded, a page rendered again soon after (the dashboard, on every live update) gets
    the same URLs, so its images and live view are not reloaded; they then stay valid for
    between half the TTL and all of it.
    """
    if not stable:
        return datetime.now(UTC) + timedelta(seconds=ttl)
    step = max(ttl // 2, 1)
    return datetime.fromtimestamp(int(datetime.now(UTC).timestamp()) // step * step + ttl, UTC)


def request_base_url(settings: Settings, request: HTTPConnection) -> str:
    """The URL clients reach the api at: TESTRUN_PUBLIC_URL, else the request's own."""
    return settings.public_url or str(request.base_url)


async def serve_artifact(request: Request) -> Response:
    """The file, if the signature is valid and unexpired (403) and the file exists (404)."""
    services: Services = request.app.state.services
    settings = services.settings
    path = artifact_path(request.path_params["path"])
    try:
        expires = int(request.query_params["expires"])
        signature = request.query_params["signature"]
    except (KeyError, ValueError):
        return JSONResponse({"detail": EXPIRED}, status_code=403)
    valid = path is not None and verify_artifact_signature(
        path,
        expires=expires,
        signature=signature,
        secret=settings.secret_key.get_secret_value(),
        now=datetime.now(UTC),
    )
    if path is None or not valid:
        return JSONResponse({"detail": EXPIRED}, status_code=403)
    storage = services.artifacts or LocalArtifactStorage(settings.artifacts_dir)
    headers = {"Cache-Control": "private, max-age=3600"}
    try:
        if isinstance(storage, LocalArtifactStorage):
            return FileResponse(storage.file(path), headers=headers)
        # Object storage: streamed through the api behind the same signature, so the
        # bucket stays private and browsers never need to reach the storage server.
        chunks = storage.read(path)
        first = await anext(chunks, b"")
    except ArtifactNotFound:
        return JSONResponse({"detail": f"Artifact not found: {path}"}, status_code=404)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return StreamingResponse(_prepend(first, chunks), media_type=media_type, headers=headers)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def artifact_routes() -> list[Route]:
    """The artifacts route."""
    return [Route(ARTIFACTS_PREFIX + "{path:path}", serve_artifact, methods=["GET"])]
