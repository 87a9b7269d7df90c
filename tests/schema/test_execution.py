"""The leaf fast path answers exactly what graphql-core's general path answers."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from schema.execution import LeafFastExecutor, leaf_plan


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
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return THINGS

    @strawberry.field
    def broken(self) -> list[Thing]:
        return BROKEN


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


def test_only_plain_leaf_fields_take_the_short_path() -> None:
    fields = FAST._schema.type_map["Thing"].fields  # type: ignore[attr-defined]

    assert leaf_plan(fields["name"]) is not None
    assert leaf_plan(fields["colour"]) is not None
    assert leaf_plan(fields["shout"]) is None  # its own resolver
    assert leaf_plan(fields["secret"]) is None  # permission classes
    things = FAST._schema.type_map["Query"].fields["things"]  # type: ignore[attr-defined]
    assert leaf_plan(things) is None  # a list of objects
