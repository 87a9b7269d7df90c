"""Inputs of schedules, and the rules across their fields that say when a schedule is valid.

`scheduled_datetime` and `repeat_end_date` are wall-clock times in `timezone`, whatever
offset they are written with (see `resolvers.recurrence`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, field_validator

from models.enums import RepeatType, RepeatUnit, ScheduleStatus
from resolvers.errors import FieldError, ValidationFailed
from resolvers.recurrence import Recurrence, as_wall_clock, first_occurrence
from resolvers.run_inputs import DateBound, Priority
from resolvers.validation import Input, Name, PageInput, SuitePath, TimeZone, Varchar255, not_null

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("Not a valid email address")
    return value


def _wall_clock(value: datetime) -> datetime:
    # Bounded so that every zone's offset and a year of repeats stay inside datetime's range.
    if not 1970 <= value.year <= 9998:
        raise ValueError("Must be between the years 1970 and 9998")
    return as_wall_clock(value)


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("Values must be unique")
    return values


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
]
WallClock = Annotated[AwareDatetime, AfterValidator(_wall_clock)]
Weekdays = Annotated[
    list[Annotated[int, Field(ge=1, le=7)]],
    Field(min_length=1, max_length=7),
    AfterValidator(_unique),
]
TestCaseIds = Annotated[
    list[uuid.UUID], Field(min_length=1, max_length=1_000), AfterValidator(_unique)
]
ParallelCount = Annotated[int, Field(ge=1, le=10)]
RetryCount = Annotated[int, Field(ge=0, le=10)]


class ScheduleFields(Input):
    """Fields of a schedule; also the shape of an update, where only those given change."""

    schedule_name: Name | None = None
    suite_path: Annotated[SuitePath, Field(min_length=1)] | None = None
    suite_name: Varchar255 | None = None
    test_case_ids: TestCaseIds | None = None
    scheduled_datetime: WallClock | None = None
    timezone: TimeZone | None = None
    repeat_type: RepeatType | None = None
    repeat_interval: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    repeat_unit: RepeatUnit | None = None
    repeat_days_of_week: Weekdays | None = None
    repeat_day_of_month: Annotated[int, Field(ge=1, le=31)] | None = None
    repeat_end_date: WallClock | None = None
    max_occurrences: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    is_enabled: bool | None = None
    parallel_enabled: bool | None = None
    parallel_count: ParallelCount | None = None
    retry_on_failure: bool | None = None
    retry_count: RetryCount | None = None
    priority: Priority | None = None
    notify_on_completion: bool | None = None
    notify_on_failure: bool | None = None
    notification_emails: Annotated[list[Email], Field(max_length=50)] | None = None

    _not_null = field_validator(
        "schedule_name",
        "scheduled_datetime",
        "timezone",
        "repeat_type",
        "is_enabled",
        "parallel_enabled",
        "parallel_count",
        "retry_on_failure",
        "retry_count",
        "priority",
        "notify_on_completion",
        "notify_on_failure",
        mode="before",
    )(not_null)


class ScheduleCreate(ScheduleFields):
    """A new schedule: a name and a first date and time are required; defaults as the spec's."""

    schedule_name: Name
    scheduled_datetime: WallClock
    timezone: TimeZone = "UTC"
    repeat_type: RepeatType = RepeatType.NONE
    is_enabled: bool = True
    parallel_enabled: bool = False
    parallel_count: ParallelCount = 1
    retry_on_failure: bool = False
    retry_count: RetryCount = 0
    priority: Priority = 0
    notify_on_completion: bool = True
    notify_on_failure: bool = True


class ScheduleFilter(PageInput):
    """Which schedules to list: every condition given must hold.

    `from_date` and `to_date` bound `next_execution_at`; a date is a whole UTC day.
    """

    status: ScheduleStatus | None = None
    is_enabled: bool | None = None
    repeat_type: RepeatType | None = None
    from_date: DateBound | None = None
    to_date: DateBound | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """The columns that decide when a schedule fires (a `recurrence.ScheduleTiming`)."""

    scheduled_datetime: datetime
    timezone: str
    repeat_type: str
    repeat_interval: int | None
    repeat_unit: str | None
    repeat_days_of_week: list[int] | None
    repeat_day_of_month: int | None
    repeat_end_date: datetime | None
    max_occurrences: int | None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Timing:
        """The timing among a schedule's column values."""
        return cls(**{name: values[name] for name in TIMING_FIELDS})


TIMING_FIELDS = frozenset(field.name for field in fields(Timing))
TARGET_FIELDS = frozenset({"suite_path", "test_case_ids"})
_REPEATING = frozenset(RepeatType) - {RepeatType.NONE}
# Each repeat field and the repeat types it belongs to; elsewhere it is refused.
_APPLIES_TO: dict[str, tuple[frozenset[RepeatType], str]] = {
    "repeat_interval": (frozenset({RepeatType.CUSTOM}), "custom"),
    "repeat_unit": (frozenset({RepeatType.CUSTOM}), "custom"),
    "repeat_days_of_week": (frozenset({RepeatType.WEEKLY}), "weekly"),
    "repeat_day_of_month": (frozenset({RepeatType.MONTHLY}), "monthly"),
    "repeat_end_date": (_REPEATING, "repeating"),
    "max_occurrences": (_REPEATING, "repeating"),
}
_REQUIRED_FOR = {
    RepeatType.CUSTOM: ("repeat_interval", "repeat_unit"),
    RepeatType.WEEKLY: ("repeat_days_of_week",),
    RepeatType.MONTHLY: ("repeat_day_of_month",),
}


def _target_errors(values: Mapping[str, Any]) -> list[FieldError]:
    if values.get("suite_path") or values.get("test_case_ids"):
        return []
    message = "Give suite_path or test_case_ids: what the schedule runs"
    return [FieldError("suite_path", message), FieldError("test_case_ids", message)]


def _timing_errors(values: Mapping[str, Any]) -> list[FieldError]:
    repeat = RepeatType(values["repeat_type"])
    errors = [
        FieldError(name, f"Required for {repeat.value} schedules")
        for name in _REQUIRED_FOR.get(repeat, ())
        if values[name] is None
    ]
    errors += [
        FieldError(name, f"Only for {kind} schedules")
        for name, (repeat_types, kind) in _APPLIES_TO.items()
        if values[name] is not None and repeat not in repeat_types
    ]
    end = values["repeat_end_date"]
    if end is not None and end < values["scheduled_datetime"]:
        errors.append(FieldError("repeat_end_date", "Must not be before scheduled_datetime"))
    return errors


def check_schedule(values: Mapping[str, Any], *, targets: bool = True, timing: bool = True) -> None:
    """ValidationFailed naming every field that breaks a rule across fields.

    `targets`: what to run (suite_path or test_case_ids); `timing`: the repeat fields that
    the repeat type requires or does not use, and an end not before the start.
    """
    errors = (_target_errors(values) if targets else []) + (
        _timing_errors(values) if timing else []
    )
    if errors:
        raise ValidationFailed(errors)


def merge_update(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The columns after an update of `given` fields.

    Repeat fields a new repeat type does not use are cleared unless the update sets them.
    """
    merged = dict(current) | dict(given)
    if "repeat_type" in given:
        repeat = RepeatType(merged["repeat_type"])
        for name, (repeat_types, _) in _APPLIES_TO.items():
            if name not in given and repeat not in repeat_types:
                merged[name] = None
    return merged


def next_execution(timing: Timing, *, fired: int, now: datetime) -> datetime:
    """The first occurrence from `now` on, or ValidationFailed naming why there is none."""
    found = first_occurrence(Recurrence.of(timing), now=now, fired=fired)
    if found is not None:
        return found
    if timing.max_occurrences is not None and fired >= timing.max_occurrences:
        raise ValidationFailed.of("max_occurrences", f"Already fired {fired} times")
    if timing.repeat_end_date is not None:
        raise ValidationFailed.of("repeat_end_date", "Ends before the next occurrence")
    raise ValidationFailed.of("scheduled_datetime", "Is in the past: no occurrence is left")
