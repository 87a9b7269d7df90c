"""The Mutation root: the mutations of every concept module; each runs in one transaction."""

from __future__ import annotations

import strawberry

from schema.results import ResultMutation
from schema.runs import RunMutation
from schema.schedules import ScheduleMutation
from schema.script_variables import ScriptVariableMutation
from schema.scripts import ScriptMutation
from schema.test_cases import TestCaseMutation


@strawberry.type(description="Changes; each runs in one transaction, viewers get FORBIDDEN.")
class Mutation(
    TestCaseMutation,
    RunMutation,
    ScheduleMutation,
    ScriptMutation,
    ScriptVariableMutation,
    ResultMutation,
):
    """GraphQL Mutation root."""
