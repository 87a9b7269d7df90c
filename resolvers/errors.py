"""The errors resolvers raise; GraphQL maps them to `extensions.code`, REST to status codes."""

from __future__ import annotations

from dataclasses import dataclass


class ResolverError(Exception):
    """Base of every error a user can cause; `code` is the GraphQL extensions code."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input field (snake_case path such as `items.2.status`) and why."""

    field: str
    message: str


class ValidationFailed(ResolverError):
    """The input breaks a rule; `fields` names every offending field."""

    code = "VALIDATION_ERROR"

    def __init__(self, fields: list[FieldError], message: str = "Validation error") -> None:
        super().__init__(message)
        self.fields = fields

    @classmethod
    def of(cls, field: str, message: str) -> ValidationFailed:
        """A validation error about a single field."""
        return cls([FieldError(field, message)])


class Unauthenticated(ResolverError):
    """No usable credentials: missing, malformed, unknown, expired or revoked token."""

    code = "UNAUTHENTICATED"


class Forbidden(ResolverError):
    """The credentials are good but their role may not do this."""

    code = "FORBIDDEN"


class NotFound(ResolverError):
    """The thing does not exist, or not in the caller's project (never told apart)."""

    code = "NOT_FOUND"

    @classmethod
    def of(cls, what: str, id_: object) -> NotFound:
        """`Test run not found: <id>`, the spec's wording."""
        return cls(f"{what} not found: {id_}")


class Conflict(ResolverError):
    """The change would duplicate something that must be unique."""

    code = "CONFLICT"


class InvalidState(ResolverError):
    """The thing is in a state that does not allow this; the message names the state."""

    code = "INVALID_STATE"

    @classmethod
    def of(cls, action: str, status: str) -> InvalidState:
        """`Cannot start test run: status is 'completed'`, the spec's wording."""
        return cls(f"Cannot {action}: status is '{status}'")
