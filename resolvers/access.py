"""Who may do what: writes need an editor or admin token; some settings an admin token."""

from __future__ import annotations

from models.enums import Role
from resolvers.errors import Forbidden
from resolvers.tokens import Principal


def require_writer(principal: Principal) -> None:
    """Forbidden unless the caller's role may change data and run tests."""
    if not principal.role.can_write:
        raise Forbidden(f"A {principal.role.value} token cannot change data; use an editor token")


def require_admin(principal: Principal, what: str) -> None:
    """Forbidden unless the caller is an admin of its project, who alone manages `what`."""
    if principal.role is not Role.ADMIN:
        raise Forbidden(f"Only an admin token manages {what}; this one is {principal.role.value}")
