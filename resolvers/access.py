"""Who may do what: writes need an editor or admin token, operations an admin one."""

from __future__ import annotations

from models.enums import Role
from resolvers.errors import Forbidden
from resolvers.tokens import Principal


def require_writer(principal: Principal) -> None:
    """Forbidden unless the caller's role may change data and run tests."""
    if not principal.role.can_write:
        raise Forbidden(f"A {principal.role.value} token cannot change data; use an editor token")


def require_admin(principal: Principal) -> None:
    """Forbidden unless the caller's token is an admin's."""
    if principal.role is not Role.ADMIN:
        raise Forbidden(f"A {principal.role.value} token cannot do this; use an admin token")
