"""Every stored text fits its column: the one place that cuts values to their column's size.

What a browser produces has no length: a beacon URL of 12,000 characters, a console line of
a megabyte, a script URL of 600 characters. Each writer of results and their details (the
engine's and a client's alike) passes its rows through here, so a value too long for its
column is stored cut, with a visible marker, instead of failing the insert. Limits come
from the model's column types: `String(n)` holds n characters, `Text` and JSON strings
TEXT_LIMIT. Characters PostgreSQL cannot store (NUL, unpaired surrogates) are replaced.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, JSON, String

from models.base import Base, table_of

# Unbounded text (and each string inside JSON) is kept up to this many characters.
TEXT_LIMIT = 100_000
_REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def marker(length: int) -> str:
    """What ends a value that was cut: says how long it was."""
    return f"…[truncated from {length:,} characters]"


def storable(value: str) -> str:
    """`value` with NUL and unpaired surrogates replaced: PostgreSQL stores neither."""
    if "\x00" in value:
        value = value.replace("\x00", _REPLACEMENT)
    try:
        value.encode()
    except UnicodeEncodeError:  # a surrogate on its own: a str holds pairs as one character
        value = _SURROGATE.sub(_REPLACEMENT, value)
    return value


def fit_text(value: str, limit: int) -> str:
    """`value` storable and at most `limit` characters; a cut one ends with `marker`."""
    value = storable(value)
    if len(value) <= limit:
        return value
    end = marker(len(value))
    if len(end) * 2 > limit:  # too small a column for a marker to say anything
        return value[:limit]
    return value[: limit - len(end)] + end


def _fit_json(value: Any) -> Any:
    if isinstance(value, str):
        return fit_text(value, TEXT_LIMIT)
    if isinstance(value, list):
        return [_fit_json(each) for each in value]
    if isinstance(value, dict):
        return {fit_text(str(key), TEXT_LIMIT): _fit_json(each) for key, each in value.items()}
    return value


def _fitter(column_type: Any) -> Any:
    """How a column's values are fitted, or None for columns that hold no text."""
    if isinstance(column_type, ARRAY):
        inner = _fitter(column_type.item_type)
        if inner is None:
            return None
        return lambda values: None if values is None else [inner(each) for each in values]
    if isinstance(column_type, JSON):
        return _fit_json
    if isinstance(column_type, String):  # Text is a String without a length
        limit = column_type.length or TEXT_LIMIT
        return lambda value: value if not isinstance(value, str) else fit_text(value, limit)
    return None


@functools.cache
def _fitters(model: type[Base]) -> dict[str, Any]:
    table = table_of(model)
    found = {column.name: _fitter(column.type) for column in table.columns}
    return {name: fitter for name, fitter in found.items() if fitter is not None}


def fit_row(model: type[Base], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` (column name → value) with each text fitted to its column of `model`."""
    fitters = _fitters(model)
    return {
        name: fitters[name](value) if name in fitters and value is not None else value
        for name, value in values.items()
    }


def fit_columns(model: type[Base], columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """Rows given column by column (name → values), each text fitted to its column."""
    fitters = _fitters(model)
    fitted: dict[str, list[Any]] = {}
    for name, values in columns.items():
        fitter = fitters.get(name)
        fitted[name] = (
            list(values)
            if fitter is None
            else [None if value is None else fitter(value) for value in values]
        )
    return fitted
