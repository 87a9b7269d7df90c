"""Input validation: pydantic models whose failures become `ValidationFailed` naming fields."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from resolvers.errors import FieldError, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

# The VARCHAR lengths of test-run-api.md, named by size.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Varchar50 = Annotated[str, StringConstraints(max_length=50)]
Varchar100 = Annotated[str, StringConstraints(max_length=100)]
Varchar255 = Annotated[str, StringConstraints(max_length=255)]
Varchar500 = Annotated[str, StringConstraints(max_length=500)]
Varchar1000 = Annotated[str, StringConstraints(max_length=1000)]
Varchar2000 = Annotated[str, StringConstraints(max_length=2000)]
# TEXT columns have no SQL limit; one megabyte keeps a single value from exhausting memory.
Text = Annotated[str, StringConstraints(max_length=1_000_000)]
# What an execution recorded (a URL, a selector, a console line): taken whatever its length
# (the request's size is the bound) and stored fitted to its column (`resolvers.fitting`),
# as the engine's own records are.
Recorded = str
RecordedName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Field(max_length=100)]
SuitePath = Annotated[list[Name], Field(max_length=50)]
Count = Annotated[int, Field(ge=0, le=2_147_483_647)]
DurationMs = Annotated[int, Field(ge=0, le=9_223_372_036_854_775_807)]
Pixels = Annotated[int, Field(gt=0, le=100_000)]
Percentage = Annotated[float, Field(ge=0, le=100)]


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError(f"Unknown time zone '{value}': use an IANA name such as Europe/Berlin")
    return value


def _storable(value: datetime) -> datetime:
    # PostgreSQL gets the UTC instant: 0001-01-01T00:00+01:00 has none in Python's range.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Is outside the years 1 to 9999 in UTC") from None
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_storable)]
TimeZone = Annotated[str, StringConstraints(max_length=50), AfterValidator(_known_time_zone)]


class Input(BaseModel):
    """Base of every input model: unknown fields are errors, values are validated strictly."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


def _field_name(location: tuple[int | str, ...], root: str = "input") -> str:
    return ".".join(str(part) for part in location) or root


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ")


UNSTORABLE = "Must not contain NUL (\\u0000) or unpaired surrogates: they cannot be stored"
# How a JSON document writes either: escaped (JSON strings cannot hold them raw).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(0000|[dD][89a-fA-F])")


def _unstorable_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def _unstorable(value: object, path: str) -> Iterator[str]:
    """Paths of the strings PostgreSQL refuses (TEXT and JSONB alike), keys included."""
    if isinstance(value, str):
        if _unstorable_text(value):
            yield path
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _unstorable(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, each in enumerate(value):
            yield from _unstorable(each, f"{path}.{index}" if path else str(index))
    elif isinstance(value, dict):
        for key, each in value.items():
            yield from _unstorable(key, path)
            yield from _unstorable(each, f"{path}.{key}" if path else str(key))


def _storable_strings(parsed: Model) -> Model:
    found = list(dict.fromkeys(_unstorable(parsed, "")))
    if found:
        raise ValidationFailed([FieldError(path, UNSTORABLE) for path in found])
    return parsed


def parse(model: type[Model], data: Mapping[str, Any]) -> Model:
    """`data` as a `model`, or ValidationFailed naming each invalid field."""
    try:
        parsed = model.model_validate(dict(data))
    except PydanticValidationError as error:
        raise ValidationFailed(
            [FieldError(_field_name(item["loc"]), _message(item)) for item in error.errors()]
        ) from None
    return _storable_strings(parsed)


# Strict errors that lax JSON validation parses the same value for: an ISO string given
# to a datetime or UUID field behind a before-validator (which hands strict mode a Python
# str), or a whole float such as 3.0, which JSON Schema counts as an integer.
_STRING_PARSED = frozenset({"datetime_type", "date_type", "uuid_type", "enum"})


def _lax_parses_alike(error: Mapping[str, Any]) -> bool:
    value = error["input"]
    if error["type"] == "int_type":
        return isinstance(value, float) and value.is_integer()
    return error["type"] in _STRING_PARSED and isinstance(value, str)


def parse_json(model: type[Model], document: bytes) -> Model:
    """A JSON document as a `model`, strictly: a wrong JSON type is an error, not coerced.

    `3.0` is an integer (as JSON Schema has it), `"3"` is not. Errors about the document
    as a whole (not JSON, not an object) name the field `body`.
    """
    try:
        parsed = model.model_validate_json(document, strict=True)
    except PydanticValidationError as error:
        failed = error
    else:
        return _storable_strings(parsed) if _UNSTORABLE_ESCAPE.search(document) else parsed
    if all(_lax_parses_alike(item) for item in failed.errors()):
        try:
            return _storable_strings(model.model_validate_json(document))
        except PydanticValidationError as error:
            failed = error
    raise ValidationFailed(
        [FieldError(_field_name(item["loc"], "body"), _message(item)) for item in failed.errors()]
    )


class PageInput(Input):
    """`limit` (default 20, at most 100) and `offset` of a list."""

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=2_147_483_647)


def not_null(value: object) -> object:
    """A `mode="before"` field validator: explicit null is refused, leaving out is fine."""
    if value is None:
        raise ValueError("May not be null")
    return value
