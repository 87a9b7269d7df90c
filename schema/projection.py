"""Reads of only the columns a query selects: from GraphQL fields to columns, and rows back."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Row
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from models.base import Base
from resolvers.batches import Columns, column_names

GraphQLType = TypeVar("GraphQLType")


class Projection(Generic[GraphQLType]):
    """How the fields of one GraphQL type come from the columns of one table.

    A field whose Python name is a column of the table reads that column. Any other
    field says in `needs` which columns it reads (none for a nested field that a loader
    fills in); a selected field that does neither reads every column the type has, so
    a resolver field added later answers right before anyone declares what it reads.
    """

    def __init__(
        self,
        graphql_type: type[GraphQLType],
        model: type[Base],
        *,
        keys: Columns,
        needs: Mapping[str, Columns],
        renamed: Mapping[str, str] | None = None,
        convert: Mapping[str, Callable[[Any], Any]] | None = None,
        derived: Mapping[str, tuple[str, Callable[[Any], Any]]] | None = None,
    ) -> None:
        """Describe `graphql_type` over `model`'s table.

        `keys`: columns every read keeps (what nested fields are loaded by); `needs`: by
        GraphQL name, the columns of fields that are not a column; `renamed`: column to
        attribute where the type keeps a column under another name; `convert`: by
        attribute, the conversion of its column's value (enums, numeric rates);
        `derived`: by attribute, the column and function it is computed from.
        """
        self.graphql_type = graphql_type
        self.keys = keys
        self.needs = needs
        self.renamed = dict(renamed or {})
        self.convert = dict(convert or {})
        self.derived = dict(derived or {})
        columns = column_names(model)
        definition = get_object_definition(graphql_type, strict=True)
        # GraphQL name -> the column of a field that is one.
        self._column_of = {
            field.graphql_name or to_camel_case(field.python_name): field.python_name
            for field in definition.fields
            if field.python_name in columns and field.base_resolver is None
        }
        sources = {column for column, _ in self.derived.values()}
        every = set(self._column_of.values()) | set(self.renamed) | sources | set(keys)
        self.every: Columns = tuple(sorted(every))
        _check_covered(graphql_type, every, self)
        self._columns: dict[frozenset[str], Columns] = {}

    def columns(self, selected: Iterable[str]) -> Columns:
        """The columns that answer the GraphQL fields `selected` (names, as in the query)."""
        wanted = frozenset(selected)
        found = self._columns.get(wanted)
        if found is None:
            needed = set(self.keys)
            for name in wanted:
                if name in self._column_of:
                    needed.add(self._column_of[name])
                elif name in self.needs:
                    needed.update(self.needs[name])
                elif not name.startswith("__"):  # not __typename: a field of unknown needs
                    needed.update(self.every)
            found = self._columns[wanted] = tuple(sorted(needed))
        return found

    def build(self, names: Sequence[str], values: Sequence[Any]) -> GraphQLType:
        """The GraphQL object of `values`, those of the columns `names`."""
        (built,) = self.build_values(names, [values])
        assert built is not None
        return built

    def build_optional(self, rows: Sequence[Row[Any] | None]) -> list[GraphQLType | None]:
        """The GraphQL objects of `rows` (None stays None), all of the same columns."""
        first = next((row for row in rows if row is not None), None)
        return self.build_values(() if first is None else first._fields, rows)

    def build_values(
        self, names: Sequence[str], rows: Sequence[Sequence[Any] | None]
    ) -> list[GraphQLType | None]:
        """The GraphQL objects of `rows`, each the values of the columns `names` (or None).

        An attribute whose column was not read is missing, not null: a field read by
        mistake fails with an error instead of answering a wrong null.
        """
        attributes = tuple(self.renamed.get(name, name) for name in names)
        converts = [(a, f) for a, f in self.convert.items() if a in attributes]
        derived = [
            (attribute, names.index(column), f)
            for attribute, (column, f) in self.derived.items()
            if column in names
        ]
        cls = self.graphql_type
        built: list[GraphQLType | None] = []
        for row in rows:
            if row is None:
                built.append(None)
                continue
            # Filled in directly, as `from_columns` does: this is the read path's hot loop.
            instance: GraphQLType = object.__new__(cls)
            values = vars(instance)
            values.update(zip(attributes, row, strict=True))
            for attribute, convert in converts:
                values[attribute] = convert(values[attribute])
            for attribute, index, compute in derived:
                values[attribute] = compute(row[index])
            built.append(instance)
        return built


def by_value(enum_type: type[enum.Enum]) -> Callable[[Any], Any]:
    """`enum_type(value)` for the stored values of an enum column, a dict lookup away.

    Calling an Enum class goes through its metaclass each time; a read of 100 items and
    their results converts a few hundred statuses.
    """
    return {member.value: member for member in enum_type}.__getitem__


def _check_covered(graphql_type: type, every: set[str], projection: Projection[Any]) -> None:
    """Every field of the type without a default comes from a column: or it would be missing."""
    attributes = {projection.renamed.get(column, column) for column in every}
    attributes |= set(projection.derived)
    for field in dataclasses.fields(graphql_type):
        has_default = (
            field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING
        )
        if field.init and not has_default and field.name not in attributes:
            raise TypeError(f"{graphql_type.__name__}.{field.name} comes from no column")
