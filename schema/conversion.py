"""Between GraphQL values and plain data: inputs to dicts, ORM rows to GraphQL types."""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar, cast

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
)
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition


def input_data(value: object) -> dict[str, Any]:
    """A Strawberry input as a dict of the fields the caller gave (explicit nulls kept).

    Nested inputs become dicts too, so the resolvers' pydantic models see plain data.
    """
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"not a Strawberry input: {value!r}")
    data: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        field_value = getattr(value, item.name)
        if field_value is strawberry.UNSET:
            continue
        data[item.name] = _plain(field_value)
    return data


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return input_data(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


GraphQLType = TypeVar("GraphQLType")
InputType = TypeVar("InputType", bound=type)


def bulk_input(cls: InputType) -> InputType:
    """Build the Strawberry input `cls` straight from GraphQL's coerced value.

    For inputs sent by the thousand (steps, checkpoints, logs): Strawberry's own conversion
    resolves every field's type for every value, most of an addStepResults request's time.
    graphql-core has already coerced each value (enums, dates, UUIDs) and filled in the
    published defaults, so only the names change; the resolvers' models validate the rest.
    """
    definition = get_object_definition(cls, strict=True)
    python_names: dict[str, str] = {}

    def build(origin: type, value: Mapping[str, Any], context: InputContext) -> object:
        if not python_names:
            converter = context.config.name_converter
            python_names.update(
                {converter.from_field(field): field.python_name for field in definition.fields}
            )
        instance: object = object.__new__(origin)
        instance.__dict__.update({python_names[key]: item for key, item in value.items()})
        return instance

    definition.from_input = build
    return cls


def bulk_data(values: Sequence[object]) -> list[dict[str, Any]]:
    """Bulk inputs as the dicts their models parse: every field is set (see `bulk_input`)."""
    return [vars(value) for value in values]


@functools.cache
def _copied_fields(
    cls: Any, converted: tuple[str, ...]
) -> tuple[tuple[str, ...], Callable[[Mapping[str, object]], tuple[object, ...]]]:
    """The fields of a GraphQL type copied as they are, and a picker of their values.

    The picker takes them out of a mapping at C speed: this is the read path's hot loop.
    """
    names = tuple(
        field.name
        for field in dataclasses.fields(cls)
        if field.init and field.name not in converted
    )
    if len(names) > 1:
        return names, operator.itemgetter(*names)
    # itemgetter needs a name, and of one name it answers the value itself, not a tuple.
    return names, lambda mapping: tuple(mapping[name] for name in names)


def from_columns(cls: type[GraphQLType], row: object, **converted: object) -> GraphQLType:
    """An instance of the GraphQL type `cls` from the same-named attributes of `row`.

    `converted` gives the fields whose value needs a conversion (enums, rates); resolver
    fields (nested lists) are not constructor arguments and are left out. A field `row`
    lacks is an AttributeError here, not a silent null in a response.
    """
    names, pick = _copied_fields(cast("Hashable", cls), tuple(converted))
    # Filled in directly rather than through the dataclass constructor: this is the read
    # path's hot loop (a run's 100 results of 50 columns), and the constructor would only
    # copy the same values without a check. An ORM row keeps its loaded columns in its
    # `__dict__`, where reading them skips the instrumented attribute; when one is not
    # there (not loaded, computed, or a row without a `__dict__`) all are read as attributes.
    instance: GraphQLType = object.__new__(cls)
    values = vars(instance)
    try:
        values.update(zip(names, pick(vars(row)), strict=True))
    except (KeyError, TypeError):
        values.update((name, getattr(row, name)) for name in names)
    values.update(converted)
    return instance


def selected_names(info: strawberry.Info[Any, Any], *path: str) -> set[str]:
    """GraphQL names of the fields selected right under the current field, fragments included.

    With a `path` of field names, those under that child (of every alias of it) instead.
    Read from the query's syntax tree: Strawberry's `info.selected_fields` converts the
    whole selection below, arguments and directives included, each time it is asked.
    """
    raw = info._raw_info
    fields = _fields_under(raw.field_nodes, raw.fragments)
    for name in path:
        fields = _fields_under([f for f in fields if f.name.value == name], raw.fragments)
    return {field.name.value for field in fields}


def _fields_under(
    fields: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields selected under `fields`, those of fragments included."""
    found: list[FieldNode] = []
    pending: list[SelectionNode] = [
        selection
        for field in fields
        if field.selection_set is not None
        for selection in field.selection_set.selections
    ]
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
    return found
