"""Signed, expiring artifact and live view URLs: they open without an Authorization header.

An artifact is a file under the artifacts directory, named by its path relative to it as
the engine stores it (`<run>/<item>/<result>/step-0003.png`). Only the server signs, and
only paths it read from rows of the caller's project and that lie in those rows' own
folders, so a signature is the permission, for that one path. A live view URL is signed
when it is read (GraphQL, REST), never when stored, so it expires like the others.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import quote, urlencode, urlsplit

ARTIFACTS_PREFIX = "/artifacts/"
LIVE_PREFIX = "/live/"


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


def _live_message(item_id: uuid.UUID, expires: int) -> str:
    return f"live:{item_id}\n{expires}"


def sign_live_view_url(item_id: uuid.UUID, *, secret: str, expires_at: datetime) -> str:
    """`/live/<item>?expires=..&sig=..`: the item's live view, until `expires_at`."""
    expires = int(expires_at.timestamp())
    query = urlencode(
        {"expires": expires, "sig": signature(secret, _live_message(item_id, expires))}
    )
    return f"{LIVE_PREFIX}{item_id}?{query}"


def verify_live_view_signature(
    item_id: uuid.UUID, *, expires: int, candidate: str, secret: str, now: datetime
) -> bool:
    """Whether `candidate` was made by `sign_live_view_url` for this item and is unexpired."""
    if expires < now.timestamp():
        return False
    return signature_matches(secret, _live_message(item_id, expires), candidate)


def in_folder_of(path: str, owner: uuid.UUID) -> bool:
    """Whether `path` lies in the folder of the row `owner` (its id is one of the folders).

    The engine keeps a result's files under `<run>/<item>/<result>/`: a path naming some
    other row's folder is not this row's, whatever a client wrote into its columns.
    """
    return str(owner) in path.split("/")[:-1]


@dataclass(frozen=True, slots=True)
class ArtifactLinks:
    """Signs the artifact and live view URLs of one response, all expiring at `expires_at`."""

    secret: str
    base_url: str
    expires_at: datetime

    def artifact(self, stored: str | None, *, owner: uuid.UUID) -> str | None:
        """The signed URL of a file of the row `owner`, or None when `stored` names none."""
        if not stored:
            return None
        path = artifact_path(stored)
        if path is None or not in_folder_of(path, owner):
            return None
        return self.base_url + sign_artifact_url(
            path, secret=self.secret, expires_at=self.expires_at
        )

    def live_view(self, stored: str | None, *, item_id: uuid.UUID) -> str | None:
        """The item's live view URL, signed now; another sandbox's own stream URL as stored."""
        if not stored:
            return None
        if urlsplit(stored).path != f"{LIVE_PREFIX}{item_id}":
            return stored
        return self.base_url + sign_live_view_url(
            item_id, secret=self.secret, expires_at=self.expires_at
        )
