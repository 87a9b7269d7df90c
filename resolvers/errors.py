"""The errors resolvers raise; GraphQL maps them to `extensions.code`, REST to status codes."""

from __future__ import annotations


class ResolverError(Exception):
    """Base of every error a user can cause; `code` is the GraphQL extensions code."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ResolverError):
    """No usable credentials: missing, malformed, unknown, expired or revoked token."""

    code = "UNAUTHENTICATED"


class Forbidden(ResolverError):
    """The credentials are good but their role may not do this."""

    code = "FORBIDDEN"


class NotFound(ResolverError):
    """The thing does not exist, or not in the caller's project."""

    code = "NOT_FOUND"


class Conflict(ResolverError):
    """The change would duplicate something that must be unique."""

    code = "CONFLICT"
