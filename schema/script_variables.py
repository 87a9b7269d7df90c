"""GraphQL type and root fields of script variables (admins only; values are write-only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import script_variables as rows
from resolvers import script_variables
from resolvers.validation import PageInput, parse
from schema.context import Info


@strawberry.type(
    description="A variable the project's scripts get in their environment; its value is "
    "never returned."
)
class ScriptVariable:
    """GraphQL view of a script variable: its name and times, not its value."""

    name: str = strawberry.field(description="Environment variable name, e.g. API_PASSWORD.")
    created_at: datetime = strawberry.field(description="When it was first set.")
    updated_at: datetime = strawberry.field(description="When its value last changed.")

    @classmethod
    def from_model(cls, row: rows.ScriptVariable) -> ScriptVariable:
        """Build from the ORM row (leaving the value behind)."""
        return cls(name=row.name, created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type(description="One page of script variables.")
class ScriptVariablePage:
    """A page of script variables with the total count."""

    items: list[ScriptVariable] = strawberry.field(description="The variables of this page.")
    total: int = strawberry.field(description="How many the project has.")
    limit: int = strawberry.field(description="Page size asked for.")
    offset: int = strawberry.field(description="Rows skipped before this page.")


@strawberry.type
class ScriptVariableQuery:
    """Script variable fields of the Query root."""

    @strawberry.field(description="The project's script variables by name (admin tokens only).")
    async def script_variables(
        self, info: Info, limit: int = 20, offset: int = 0
    ) -> ScriptVariablePage:
        """List script variables."""
        page = parse(PageInput, {"limit": limit, "offset": offset})
        async with info.context.session() as session:
            found, total = await script_variables.read_script_variables(
                session, principal=info.context.principal, page=page
            )
        return ScriptVariablePage(
            items=[ScriptVariable.from_model(row) for row in found],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )


@strawberry.type
class ScriptVariableMutation:
    """Script variable fields of the Mutation root."""

    @strawberry.mutation(
        description="Create a script variable, or replace its value (admin tokens only)."
    )
    async def set_script_variable(self, info: Info, name: str, value: str) -> ScriptVariable:
        """Set a script variable."""
        data = parse(script_variables.ScriptVariableSet, {"name": name, "value": value})
        async with info.context.transaction() as session:
            row = await script_variables.set_script_variable(
                session, principal=info.context.principal, data=data
            )
        return ScriptVariable.from_model(row)

    @strawberry.mutation(description="Delete a script variable (admin tokens only).")
    async def delete_script_variable(self, info: Info, name: str) -> ScriptVariable:
        """Delete a script variable."""
        data = parse(script_variables.ScriptVariableName, {"name": name})
        async with info.context.transaction() as session:
            row = await script_variables.delete_script_variable(
                session, principal=info.context.principal, data=data
            )
        return ScriptVariable.from_model(row)
