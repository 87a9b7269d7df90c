"""The GraphQL contract: Strawberry types, inputs, roots, context and DataLoaders."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from schema.query import Query

# Limits on every operation, so one request cannot ask for unbounded work.
MAX_DEPTH = 10
MAX_TOKENS = 5_000
MAX_ALIASES = 30

schema = strawberry.Schema(
    query=Query,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    ],
)
