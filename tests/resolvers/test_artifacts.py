"""Signed artifact URLs: what a signature covers, when it expires, which paths can be signed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from resolvers.artifacts import artifact_path, sign_artifact_url, verify_artifact_signature

NOW = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
SECRET = "s3cret"


def _parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.removeprefix("/artifacts/"), int(query["expires"][0]), query["signature"][0]


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("run/item/result/step-0003.png", "run/item/result/step-0003.png"),
        ("/screenshots/step_001.png", "screenshots/step_001.png"),
        ("a//b/./c.png", "a/b/c.png"),
        ("../etc/passwd", None),
        ("a/../../b", None),
        ("https://storage.example.com/a.png", None),
        ("a\\b.png", None),
        ("", None),
        ("/", None),
    ],
)
def test_only_paths_inside_the_artifacts_directory_are_signable(
    stored: str, expected: str | None
) -> None:
    assert artifact_path(stored) == expected


def test_a_signature_covers_the_path_and_the_expiry() -> None:
    url = sign_artifact_url("r/i/x.png", secret=SECRET, expires_at=NOW + timedelta(hours=1))
    path, expires, signature = _parts(url)
    assert path == "r/i/x.png"

    def valid(**changes: object) -> bool:
        values: dict[str, object] = {
            "path": path, "expires": expires, "signature": signature, "secret": SECRET, "now": NOW
        } | changes  # fmt: skip
        return verify_artifact_signature(**values)  # type: ignore[arg-type]

    assert valid()
    assert not valid(path="r/i/y.png")
    assert not valid(expires=expires + 3600)
    assert not valid(signature=signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert not valid(secret="other")
    assert not valid(now=NOW + timedelta(hours=1, seconds=1))
