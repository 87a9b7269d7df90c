"""REST routes of a project's script variables (admins only; values are write-only)."""

from __future__ import annotations

from models.script_variables import ScriptVariable
from resolvers import script_variables
from resolvers.script_variables import ScriptVariableName, ScriptVariableSet, ScriptVariableValue
from resolvers.validation import PageInput, parse
from server.rest.bodies import page_body, page_of, row_body
from server.rest.operations import AnyOperation, Call, NoBody, NoQuery, Operation, Reply

VARIABLES = "/api/v1/script-variables"
VARIABLE = VARIABLES + "/{variable_name}"
TAG = "Script variables"
ScriptVariableBody = row_body(
    ScriptVariable,
    "A variable the project's scripts get in their environment; its value is never returned.",
    exclude=frozenset({"id", "project_id", "value"}),
)
ScriptVariablePage = page_of(ScriptVariableBody)


async def list_script_variables(call: Call[NoBody, PageInput]) -> Reply:
    """The project's script variables by name: names and times, never values."""
    async with call.reading() as session:
        rows, total = await script_variables.read_script_variables(
            session, principal=call.principal, page=call.query
        )
    return page_body(ScriptVariableBody, rows, total, call.query)


async def set_script_variable(call: Call[ScriptVariableValue, NoQuery]) -> Reply:
    """Create the variable, or replace its value; the answer leaves the value out."""
    data = parse(ScriptVariableSet, {"name": call.text("variable_name"), "value": call.body.value})
    async with call.writing() as session:
        row = await script_variables.set_script_variable(
            session, principal=call.principal, data=data
        )
    return ScriptVariableBody.model_validate(row)


async def delete_script_variable(call: Call[NoBody, NoQuery]) -> Reply:
    """Delete the variable; later scripts no longer get it."""
    data = parse(ScriptVariableName, {"name": call.text("variable_name")})
    async with call.writing() as session:
        row = await script_variables.delete_script_variable(
            session, principal=call.principal, data=data
        )
    return ScriptVariableBody.model_validate(row)


OPERATIONS: list[AnyOperation] = [
    Operation("GET", VARIABLES, list_script_variables, "List script variables", TAG, NoBody,
              PageInput, ScriptVariablePage, errors=(400, 403)),
    Operation("PUT", VARIABLE, set_script_variable, "Set a script variable", TAG,
              ScriptVariableValue, NoQuery, ScriptVariableBody, errors=(400, 403)),
    Operation("DELETE", VARIABLE, delete_script_variable, "Delete a script variable", TAG,
              NoBody, NoQuery, ScriptVariableBody, errors=(400, 403, 404)),
]  # fmt: skip
