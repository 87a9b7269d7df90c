"""GraphQL errors with `extensions.code` (and `fields` for validation), internals masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from models.database import database_unavailable
from resolvers.errors import ResolverError, ValidationFailed

logger = logging.getLogger(__name__)
INTERNAL_MESSAGE = "Internal server error"
# PostgreSQL is away: not a bug and not the caller's fault; the same request works later.
UNAVAILABLE = "UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly"


def camel(snake: str) -> str:
    """`parallel_count` as GraphQL spells it: `parallelCount` (dotted paths kept)."""
    return ".".join(
        head + "".join(word.title() for word in rest)
        for head, *rest in (part.split("_") for part in snake.split("."))
    )


def annotate(error: GraphQLError) -> None:
    """Give `error` its code; hide the message of anything that is not the caller's fault."""
    original = error.original_error
    if isinstance(original, ResolverError):
        extensions: dict[str, object] = {"code": original.code}
        if isinstance(original, ValidationFailed):
            extensions["fields"] = [
                {"field": camel(item.field), "message": item.message} for item in original.fields
            ]
        error.extensions = extensions
    elif original is None or error.path is None:
        # No path: raised before any resolver ran (parse, validation, variable coercion), so
        # the document or its values are at fault.
        error.extensions = {**(error.extensions or {}), "code": "VALIDATION_ERROR"}
    elif database_unavailable(original):
        logger.warning("database unavailable in %s: %s", error.path, original)
        error.message = UNAVAILABLE_MESSAGE
        error.extensions = {"code": UNAVAILABLE}
    else:
        logger.error("unexpected error in %s", error.path, exc_info=original)
        error.message = INTERNAL_MESSAGE
        error.extensions = {"code": "INTERNAL"}


def process_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Annotate every error of a result (Schema.process_errors)."""
    for error in errors:
        annotate(error)
