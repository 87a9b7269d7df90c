"""The fast paths answer exactly what graphql-core's general path answers."""

from __future__ import annotations

import asyncio
import enum
import gc
import uuid
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLID
from strawberry.permission import BasePermission

from schema.plain_fields import (
    LeafFastExecutor,
    LeafPlan,
    ObjectPlan,
    field_plan,
    serializer,
)


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "Not allowed"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Thing:
    id: uuid.UUID
    name: str
    count: int
    ratio: float
    colour: Colour
    when: datetime
    note: str | None
    required: str  # set to None below: a null in a non-null field is an error
    big: int  # 2**40 does not fit GraphQL's Int: a serialization error
    secret: str = strawberry.field(permission_classes=[Never], default="hidden")

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


THINGS = [
    Thing(
        id=uuid.UUID(int=n),
        name=f"thing {n}",
        count=n,
        ratio=n / 3,
        colour=Colour.RED if n % 2 else Colour.BLUE,
        when=datetime(2026, 1, n + 1, tzinfo=UTC),
        note=None if n % 2 else "even",
        required="ok",
        big=n,
    )
    for n in range(5)
]
BROKEN = [Thing(**{**vars(THINGS[0]), "required": None, "big": 2**40})]  # type: ignore[arg-type]


@strawberry.type
class Part:
    label: str
    required: str | None  # None in the broken parts, where `needed` fails

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"{self.label} later"

    @strawberry.field
    def needed(self) -> str:
        if self.required is None:
            raise ValueError("no part")
        return self.required


@strawberry.type
class Assembly:
    name: str
    part: Part  # a plain object attribute: the short path
    spare: Part | None
    parts: list[Part]  # a list: the general path


def assembly(n: int, *, broken: bool = False) -> Assembly:
    part = Part(label=f"part {n}", required=None if broken else "ok")
    return Assembly(
        name=f"assembly {n}",
        part=part,
        spare=None if n % 2 else part,
        parts=[part, part],
    )


ASSEMBLIES = [assembly(n) for n in range(4)]
BROKEN_ASSEMBLIES = [assembly(0, broken=True), assembly(1)]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return THINGS

    @strawberry.field
    def broken(self) -> list[Thing]:
        return BROKEN

    @strawberry.field
    def assemblies(self) -> list[Assembly]:
        return ASSEMBLIES

    @strawberry.field
    def broken_assemblies(self) -> list[Assembly | None]:
        return BROKEN_ASSEMBLIES

    @strawberry.field
    def holes(self) -> list[Part | None]:
        return [ASSEMBLIES[0].part, None, ASSEMBLIES[1].part]

    @strawberry.field
    def required_holes(self) -> list[Part] | None:
        return [ASSEMBLIES[0].part, None]  # type: ignore[list-item]

    @strawberry.field
    def broken_parts(self) -> list[Part] | None:
        return [ASSEMBLIES[0].part, BROKEN_ASSEMBLIES[0].part]


DEFAULT = strawberry.Schema(query=Query)
FAST = strawberry.Schema(query=Query, execution_context_class=LeafFastExecutor)


async def both(document: str) -> tuple[Any, Any]:
    general, fast = await DEFAULT.execute(document), await FAST.execute(document)
    return (
        (general.data, [(e.message, e.path) for e in general.errors or []]),
        (fast.data, [(e.message, e.path) for e in fast.errors or []]),
    )


async def test_plain_fields_of_every_scalar_kind_answer_the_same() -> None:
    general, fast = await both(
        "{ things { id name count ratio colour when note required big shout"
        " alias: name ...on Thing { count } } }"
    )

    assert fast == general
    assert fast[1] == [] and fast[0]["things"][1]["colour"] == "RED"


async def test_errors_are_the_same_errors_at_the_same_paths() -> None:
    general, fast = await both("{ broken { id required } }")
    assert fast == general and fast[1]

    general, fast = await both("{ broken { id big } }")
    assert fast == general and fast[1][0][1] == ["broken", 0, "big"]

    general, fast = await both("{ things { secret } }")
    assert fast == general and fast[1][0][0] == "Not allowed"


async def test_plain_object_fields_answer_the_same() -> None:
    general, fast = await both(
        "{ assemblies { name part { label later } spare { label needed }"
        " parts { label } again: part { required } } }"
    )

    assert fast == general
    assert fast[1] == [] and fast[0]["assemblies"][0]["spare"]["needed"] == "ok"
    assert fast[0]["assemblies"][1]["spare"] is None


async def test_errors_inside_plain_objects_reach_the_same_parent() -> None:
    # A failing non-null field nulls its object; a non-null object nulls its own parent.
    general, fast = await both("{ brokenAssemblies { name part { label needed } } }")
    assert fast == general
    assert fast[0]["brokenAssemblies"] == [
        None,
        {"name": "assembly 1", "part": {"label": "part 1", "needed": "ok"}},
    ]
    assert fast[1] == [("no part", ["brokenAssemblies", 0, "part", "needed"])]

    general, fast = await both("{ brokenAssemblies { spare { label needed } } }")
    assert fast == general and fast[1][0][1] == ["brokenAssemblies", 0, "spare", "needed"]


async def test_lists_of_objects_with_nulls_and_errors_answer_the_same() -> None:
    # Nulls among nullable items stay; a null or a failing item where items are non-null
    # nulls the whole list, with the error at the item's path.
    general, fast = await both("{ holes { label later } }")
    assert fast == general and fast[1] == []
    assert fast[0]["holes"][1] is None and fast[0]["holes"][2]["later"] == "part 1 later"

    general, fast = await both("{ requiredHoles { label } }")
    assert fast == general and fast[0]["requiredHoles"] is None
    assert fast[1][0][1] == ["requiredHoles", 1]

    general, fast = await both("{ brokenParts { label needed } }")
    assert fast == general and fast[0]["brokenParts"] is None
    assert fast[1] == [("no part", ["brokenParts", 1, "needed"])]

    general, fast = await both("{ assemblies { parts { label required } } }")
    assert fast == general and fast[1] == []


async def test_an_operation_lets_go_of_its_plans_without_the_garbage_collector() -> None:
    # The executor is in a reference cycle; what it keeps until the collector runs makes
    # each collection longer (a pause in the middle of some request).
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = await FAST.execute("{ assemblies { name part { label } } things { id name } }")
        gc.collect()
        left = {type(thing) for thing in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert result.errors is None and result.data is not None
    assert left.isdisjoint({LeafPlan, ObjectPlan})


def test_only_plain_fields_take_the_short_path() -> None:
    fields = FAST._schema.type_map["Thing"].fields  # type: ignore[attr-defined]

    assert isinstance(field_plan(fields["name"]), LeafPlan)
    assert isinstance(field_plan(fields["colour"]), LeafPlan)
    assert field_plan(fields["shout"]) is None  # its own resolver
    assert field_plan(fields["secret"]) is None  # permission classes
    things = FAST._schema.type_map["Query"].fields["things"]  # type: ignore[attr-defined]
    assert field_plan(things) is None  # a list of objects, from its own resolver

    assemblies = FAST._schema.type_map["Assembly"].fields  # type: ignore[attr-defined]
    assert isinstance(field_plan(assemblies["name"]), LeafPlan)
    assert isinstance(field_plan(assemblies["part"]), ObjectPlan)
    assert isinstance(field_plan(assemblies["spare"]), ObjectPlan)
    assert field_plan(assemblies["parts"]) is None  # a list of objects


class Text(str):
    pass


class Shade(enum.Enum):  # not the enum a Colour field holds
    RED = "red"


ODD_VALUES = [
    0,
    1,
    -1,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    True,
    False,
    1.0,
    1.5,
    float("nan"),
    float("inf"),
    "x",
    "",
    "1",
    Text("sub"),
    None,
    uuid.UUID(int=1),
    Colour.RED,
    Colour.BLUE,
    "red",
    "RED",
    Shade.RED,
    [1],
    {"a": 1},
]


def outcome(serialize: Any, value: Any) -> Any:
    try:
        answer = serialize(value)
    except Exception as error:  # the error is what is compared
        return ("error", type(error).__name__, str(error))
    return ("nan",) if answer != answer else (type(answer), answer)


def test_the_short_serializers_answer_what_graphql_cores_answer() -> None:
    type_map = FAST._schema.type_map  # type: ignore[attr-defined]
    names = ("Int", "Float", "String", "Boolean", "Colour", "UUID", "DateTime")
    for leaf in [*(type_map[name] for name in names), GraphQLID]:
        short = serializer(leaf)
        for value in ODD_VALUES:
            assert outcome(short, value) == outcome(leaf.serialize, value), (leaf, value)
