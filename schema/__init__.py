"""The GraphQL contract: Strawberry types, inputs, roots, context and loaders."""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from schema.context import ReleaseReads
from schema.errors import process_errors
from schema.mutation import Mutation
from schema.plain_fields import LeafFastExecutor
from schema.query import Query
from schema.scalars import LONG_SCALAR, Long
from schema.subscription import Subscription

# Limits on every operation, so one request cannot ask for unbounded work.
MAX_DEPTH = 10
MAX_TOKENS = 5_000
MAX_ALIASES = 30

# The limiters make a new rule class per instance; built once here, so the validation
# cache sees the same rules on every request (one instance per request never hits it).
_LIMITERS = (
    QueryDepthLimiter(max_depth=MAX_DEPTH),
    MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
)


def limit_rules() -> list[type[ASTValidationRule]]:
    """The depth and alias rules, for transports that validate documents themselves."""
    return [rule for limiter in _LIMITERS for rule in limiter.validation_rules]


class OperationLimits(AddValidationRules):
    """The depth and alias limits, checked in validation (and so cached with it)."""

    def __init__(self) -> None:
        """Use the rules of the shared limiters."""
        super().__init__(limit_rules())


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
    subscription=Subscription,
    scalar_overrides={Long: LONG_SCALAR},
    execution_context_class=LeafFastExecutor,
    extensions=[
        OperationLimits,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Frontends send the same few documents again and again: parse and validate
        # each once (the caches are shared by the per-request extension instances).
        ParserCache,
        ValidationCache,
        ReleaseReads,
    ],
)
