"""The Query root: the fields of every concept module, each a thin call into `resolvers`."""

from __future__ import annotations

import strawberry

from schema.results import ResultQuery
from schema.runs import RunQuery
from schema.schedules import ScheduleQuery
from schema.script_variables import ScriptVariableQuery
from schema.scripts import ScriptQuery
from schema.tenancy import TenancyQuery
from schema.test_cases import TestCaseQuery


@strawberry.type(description="Read operations; every field is scoped to the token's project.")
class Query(
    TenancyQuery,
    TestCaseQuery,
    RunQuery,
    ScheduleQuery,
    ScriptQuery,
    ScriptVariableQuery,
    ResultQuery,
):
    """GraphQL Query root."""
