"""The GraphQL contract: Strawberry types, inputs, roots, context and DataLoaders."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from schema.common import LONG_SCALAR, Long
from schema.errors import process_errors
from schema.mutation import Mutation
from schema.query import Query

# Limits on every operation, so one request cannot ask for unbounded work.
MAX_DEPTH = 10
MAX_TOKENS = 5_000
MAX_ALIASES = 30


class Schema(strawberry.Schema):
    """The schema, with errors coded for clients and internals masked."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Annotate errors instead of logging every caller mistake as an exception."""
        process_errors(errors, execution_context)


schema = Schema(
    query=Query,
    mutation=Mutation,
    scalar_overrides={Long: LONG_SCALAR},
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    ],
)
