"""A shorter path through graphql-core for plain fields, the bulk of every response.

A run of 100 items answers ~2,000 fields, nearly all of them a dataclass attribute
serialized as a scalar or enum, and a few hundred an attribute holding an already
loaded object (an item's test case and latest result). graphql-core resolves each one
the general way: a path, a resolve-info object, Strawberry's resolver wrapper, awaitable
checks, value completion, about 3 µs a field.

For a field with no arguments, no resolver of its own, no permission classes, no field
extensions and no middleware in the operation, all of that reduces to reading the
attribute: a leaf is `serialize(value)`, an object is its own sub-selection executed on
`value`. This executor plans each selection set once per operation and does just that.
Everything else, and any value that does not serialize cleanly, takes graphql-core's
own path, so errors are reported exactly as graphql-core reports them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from graphql import (
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField

_MISSING = object()


class LeafPlan(NamedTuple):
    """A plain scalar or enum attribute: answered by serializing it."""

    name: str
    serialize: Callable[[Any], Any]
    nullable: bool


class ObjectPlan(NamedTuple):
    """A plain attribute holding an object: answered by executing its sub-selection."""

    name: str
    object_type: GraphQLObjectType
    nullable: bool
    field_type: GraphQLOutputType  # the object type, or it made non-null


Plan = LeafPlan | ObjectPlan
# A plain field of a selection whose fields are all plain, at any depth: response name,
# attribute, whether nullable, and the serializer of a leaf or the tree of an object.
Branch = tuple[str, str, bool, "Callable[[Any], Any] | Tree"]
Tree = list[Branch]
# One field of a selection set: response name, its field nodes, and its plan if it has one.
PlannedField = tuple[str, Any, Plan | None]


def field_plan(field: GraphQLField) -> Plan | None:
    """How to answer `field` directly, or None when it needs graphql-core's full path."""
    definition = field.extensions.get("strawberry-definition")
    if field.args or not isinstance(definition, StrawberryField):
        return None
    if definition.base_resolver is not None or definition.permission_classes:
        return None
    if definition.extensions:
        return None
    nullable = not isinstance(field.type, GraphQLNonNull)
    named = field.type if nullable else field.type.of_type  # type: ignore[union-attr]
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return LeafPlan(definition.python_name, serializer(named), nullable)
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return ObjectPlan(definition.python_name, named, nullable, field.type)
    return None


_INT_RANGE = range(-(2**31), 2**31)


def _same_or(kind: type, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A serializer answering a value of exactly type `kind` as it is, others as `general`."""

    def serialize(value: Any) -> Any:
        return value if type(value) is kind else general(value)

    return serialize


def _int(value: Any) -> Any:
    if type(value) is int and value in _INT_RANGE:
        return value
    return GraphQLInt.serialize(value)


def _float(value: Any) -> Any:
    if type(value) is float and math.isfinite(value):
        return value
    return GraphQLFloat.serialize(value)


def _enum(enum_type: CustomGraphQLEnumType) -> Callable[[Any], Any]:
    """Strawberry's enum serializer looks for the member among all values, each time."""
    wrapped = enum_type.wrapped_cls
    members: list[enum.Enum] = list(wrapped)
    names = {
        member: name
        for name, value in enum_type.values.items()
        for member in members
        if member.value == value.value
    }
    general = enum_type.serialize

    def serialize(value: Any) -> Any:
        return names[value] if type(value) is wrapped else general(value)

    return serialize


def serializer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """`leaf.serialize`, answering the values it keeps as they are without its checks.

    Each answers exactly what `leaf.serialize` answers: a value of the expected type is
    returned as it is (an int within GraphQL's 32 bits, a finite float), anything else
    goes to `leaf.serialize`, errors included.
    """
    if leaf is GraphQLInt:
        return _int
    if leaf is GraphQLFloat:
        return _float
    if leaf is GraphQLString or leaf is GraphQLID:
        return _same_or(str, leaf.serialize)
    if leaf is GraphQLBoolean:
        return _same_or(bool, leaf.serialize)
    if isinstance(leaf, CustomGraphQLEnumType):
        return _enum(leaf)
    return leaf.serialize


class LeafFastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, answering plain fields without the general machinery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with no selection set planned."""
        super().__init__(*args, **kwargs)
        # Plans by selection set, kept with it so that a reused id never matches; and the
        # selection's tree, when all its fields are plain at every depth.
        self._planned: dict[int, tuple[object, list[PlannedField], Tree | None]] = {}

    def build_response(
        self, data: dict[str, Any] | None
    ) -> ExecutionResult | ExperimentalIncrementalExecutionResults:
        """The response, once the operation's plans and collected fields are let go.

        The executor is in a reference cycle (it keeps bound methods of its own), so what
        it holds waits for the garbage collector: a run of 100 items left ~250 objects per
        request, and a collection every couple of hundred requests had tens of thousands
        to walk, a pause of several ms in the middle of one of them.
        """
        response = super().build_response(data)
        self._planned.clear()
        self._relevant_sub_fields.clear()
        return response

    def _plan_selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> tuple[list[PlannedField], Tree | None]:
        entry = self._planned.get(id(grouped_field_set))
        if entry is None or entry[0] is not grouped_field_set:
            fast = self.middleware_manager is None or not self.middleware_manager.middlewares
            planned: list[PlannedField] = []
            for response_name, field_details_list in grouped_field_set.items():
                field = parent_type.fields.get(field_details_list[0].node.name.value)
                plan = field_plan(field) if fast and field is not None else None
                planned.append((response_name, field_details_list, plan))
            entry = (grouped_field_set, planned, self._tree(planned))
            self._planned[id(grouped_field_set)] = entry
        return entry[1], entry[2]

    def _tree(self, planned: list[PlannedField]) -> Tree | None:
        """The tree of a selection whose fields are plain at every depth, or None."""
        tree: Tree = []
        for response_name, field_details_list, plan in planned:
            if type(plan) is LeafPlan:
                tree.append((response_name, plan.name, plan.nullable, plan.serialize))
                continue
            if type(plan) is not ObjectPlan:
                return None
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                plan.object_type, field_details_list
            )
            if new_defer_usages:
                return None
            _, subtree = self._plan_selection(plan.object_type, grouped_field_set)
            if subtree is None:
                return None
            tree.append((response_name, plan.name, plan.nullable, subtree))
        return tree

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, answering planned fields directly."""
        planned, tree = self._plan_selection(parent_type, grouped_field_set)
        if tree is not None and position_context is None:
            answered = _answer(tree, source_value)
            if answered is not None:
                return answered
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, plan in planned:
                if type(plan) is LeafPlan:
                    value = getattr(source_value, plan.name, _MISSING)
                    if value is None and plan.nullable:
                        results[response_name] = None
                        continue
                    if value is not None and value is not _MISSING:
                        try:
                            serialized = plan.serialize(value)
                        except Exception:  # reported with its path by the general path
                            serialized = None
                        if serialized is not None:
                            results[response_name] = serialized
                            continue
                    result = _MISSING
                elif type(plan) is ObjectPlan:
                    result = self._complete_object(
                        plan,
                        source_value,
                        field_details_list,
                        path,
                        response_name,
                        parent_type,
                        position_context,
                    )
                else:
                    result = _MISSING
                if result is _MISSING:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather_fields(results, awaitable_fields)

    def _complete_object(
        self,
        plan: ObjectPlan,
        source: Any,
        field_details_list: Any,
        path: Path | None,
        response_name: str,
        parent_type: GraphQLObjectType,
        position_context: Any,
    ) -> Any:
        """The object field's answer the short way, or _MISSING to take the general path."""
        value = getattr(source, plan.name, _MISSING)
        if value is None:
            return None if plan.nullable else _MISSING
        if value is _MISSING:
            return _MISSING
        field_path = Path(path, response_name, parent_type.name)
        try:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                plan.object_type, field_details_list
            )
            if position_context is None and not new_defer_usages:
                # What graphql-core's incremental executor does then, one call shorter.
                completed = self.execute_fields(
                    plan.object_type, value, field_path, grouped_field_set, None
                )
            else:
                completed = self.collect_and_execute_subfields(
                    plan.object_type, field_details_list, field_path, value, position_context
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._settle_object(completed, plan.field_type, field_details_list, field_path)
        return completed

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's, executing a list of plain objects' selection straight on each.

        graphql-core completes each item through five calls before it reaches the item's
        fields (value, object, sub-fields collected, executed); for a run's 100 items
        the selection is the same for all, so it is collected once and executed on each.
        A null or awaitable item, streams and deferred fragments take graphql-core's path.
        """
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            position_context is not None
            or not isinstance(items, list)
            or not isinstance(object_type, GraphQLObjectType)
            or object_type.is_type_of is not None
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        _, tree = self._plan_selection(object_type, grouped_field_set)
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        for index, item in enumerate(items):
            if tree is not None and item is not None and not is_awaitable(item):
                answered = _answer(tree, item)
                if answered is not None:
                    completed.append(answered)
                    continue
            item_path = path.add_key(index, None)
            if item is None or is_awaitable(item):
                if self.complete_list_item_value(
                    item, completed, item_type, field_details_list, info, item_path, None
                ):
                    awaitable_indices.append(index)
                continue
            try:
                value = self.execute_fields(object_type, item, item_path, grouped_field_set, None)
            except Exception as raw_error:
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                value = None
            if is_awaitable(value):
                value = self._settle_object(value, item_type, field_details_list, item_path)
                awaitable_indices.append(index)
            completed.append(value)
        if not awaitable_indices:
            return completed
        return _gather_items(completed, awaitable_indices)

    async def _settle_object(
        self, completed: Awaitable[Any], return_type: Any, field_details_list: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _answer(tree: Tree, source: Any) -> dict[str, Any] | None:
    """The answer of a selection of plain fields on `source`, or None to take the longer path.

    The hot loop of a list of objects, such as a run's items with their test cases and
    latest results: attributes read and serialized, nothing else. Any missing attribute,
    null in a non-null field or value that does not serialize cleanly answers None, and
    the general path then reports it as graphql-core does.
    """
    results: dict[str, Any] = {}
    for response_name, name, nullable, answer in tree:
        value = getattr(source, name, _MISSING)
        if value is None:
            if not nullable:
                return None
            results[response_name] = None
            continue
        if value is _MISSING:
            return None
        if isinstance(answer, list):
            completed = _answer(answer, value)
        else:
            try:
                completed = answer(value)
            except Exception:  # reported with its path by the general path
                return None
        if completed is None:
            return None
        results[response_name] = completed
    return results


async def _gather_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """`results` with its awaitable values awaited, concurrently when there are several."""
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
    else:
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


async def _gather_items(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
    """`completed` with its awaitable items awaited, concurrently when there are several."""
    awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
    for index, value in zip(awaitable_indices, awaited, strict=True):
        completed[index] = value
    return completed
