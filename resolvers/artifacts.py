"""Signed, short-lived artifact URLs: `<img>` and `<a>` work without an Authorization header.

An artifact is a file under the artifacts directory, named by its path relative to it as
the engine stores it (`<run>/<item>/<result>/step-0003.png`). Only the server signs, and
only paths it read from rows of the caller's project, so a signature is the permission.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import quote, urlencode

ARTIFACTS_PREFIX = "/artifacts/"


def artifact_path(stored: str) -> str | None:
    """The relative path of a stored artifact path, or None when it cannot name one.

    Leading slashes are dropped (clients write `/screenshots/a.png`); `..`, empty and
    URL paths are refused, so a signed path never leaves the artifacts directory.
    """
    if "://" in stored or "\\" in stored or "\x00" in stored:
        return None
    parts = PurePosixPath(stored.lstrip("/")).parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        return None
    return "/".join(parts)


def signature(secret: str, message: str) -> str:
    """The server's HMAC-SHA256 of `message` under its secret key (URLs it hands out)."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature_matches(secret: str, message: str, candidate: str) -> bool:
    """Whether `candidate` is `signature(secret, message)`, compared in constant time."""
    return hmac.compare_digest(signature(secret, message), candidate)


def _message(path: str, expires: int) -> str:
    return f"{path}\n{expires}"


def sign_artifact_url(path: str, *, secret: str, expires_at: datetime) -> str:
    """`/artifacts/<path>?expires=..&signature=..` for a path `artifact_path` accepted."""
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": signature(secret, _message(path, expires))})
    return f"{ARTIFACTS_PREFIX}{quote(path)}?{query}"


def verify_artifact_signature(
    path: str, *, expires: int, signature: str, secret: str, now: datetime
) -> bool:
    """Whether `signature` was made by `sign_artifact_url` for `path` and has not expired."""
    if expires < now.timestamp():
        return False
    return signature_matches(secret, _message(path, expires), signature)
