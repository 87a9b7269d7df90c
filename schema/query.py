"""The Query root: the fields of every concept module, each a thin call into `resolvers`."""

from __future__ import annotations

import strawberry

from schema.tenancy import TenancyQuery
from schema.test_cases import TestCaseQuery


@strawberry.type(description="Read operations; every field is scoped to the token's project.")
class Query(TenancyQuery, TestCaseQuery):
    """GraphQL Query root."""
