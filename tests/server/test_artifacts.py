"""`GET /artifacts/...`: a signed, unexpired link serves the file without a token."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from resolvers.artifacts import sign_artifact_url
from server.artifacts import artifact_links
from server.settings import Settings


def _write(settings: Settings, path: str, content: bytes) -> None:
    file = settings.artifacts_dir / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)


def _url(settings: Settings, path: str, *, in_seconds: int = 60) -> str:
    return sign_artifact_url(
        path,
        secret=settings.secret_key.get_secret_value(),
        expires_at=datetime.now(UTC) + timedelta(seconds=in_seconds),
    )


async def test_a_signed_link_serves_the_file_without_a_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    result = uuid.uuid4()
    _write(settings, f"run/item/{result}/step 0001.png", b"png bytes")
    links = artifact_links(settings, "http://testserver/")
    url = links.artifact(f"run/item/{result}/step 0001.png", owner=result)
    assert url is not None
    assert url.startswith(f"http://testserver/artifacts/run/item/{result}/step%200001.png?expires=")
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == b"png bytes"
    assert links.artifact("../outside.png", owner=result) is None
    # A path outside the row's own folder is not signed for it, whatever its column says.
    assert links.artifact(f"run/item/{uuid.uuid4()}/step 0001.png", owner=result) is None
    assert links.artifact(f"run/item/x/{result}.png", owner=result) is None


async def test_a_bad_or_expired_signature_is_403(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _write(settings, "a/b.png", b"x")
    good = _url(settings, "a/b.png")
    for url in (
        good.replace("signature=", "signature=0"),
        good.replace("a/b.png", "a/c.png"),
        _url(settings, "a/b.png", in_seconds=-1),
        "/artifacts/a/b.png",
        "/artifacts/a/b.png?expires=soon&signature=x",
    ):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "expired" in response.json()["detail"]


async def test_a_missing_file_or_a_link_out_of_the_directory_is_404(
    client: httpx.AsyncClient, settings: Settings, tmp_path: os.PathLike[str]
) -> None:
    response = await client.get(_url(settings, "nothing/here.png"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Artifact not found: nothing/here.png"}

    outside = settings.artifacts_dir.parent / "secret.txt"
    outside.write_text("do not serve")
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    (settings.artifacts_dir / "link.txt").symlink_to(outside)
    escaped = await client.get(_url(settings, "link.txt"))
    assert escaped.status_code == 404
