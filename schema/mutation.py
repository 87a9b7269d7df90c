"""The Mutation root: the mutations of every concept module; each runs in one transaction."""

from __future__ import annotations

import strawberry

from schema.test_cases import TestCaseMutation


@strawberry.type(description="Changes; each runs in one transaction, viewers get FORBIDDEN.")
class Mutation(TestCaseMutation):
    """GraphQL Mutation root."""
