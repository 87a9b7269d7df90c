"""When a schedule fires: its occurrences in its IANA time zone, by the DST rules of DESIGN.md.

`scheduled_datetime` (and `repeat_end_date`) are wall-clock times in the schedule's zone,
whatever offset a client wrote them with. PostgreSQL keeps no offset, so schedules store
them labelled UTC (`as_wall_clock`): `2026-01-18T02:00:00Z` in America/New_York fires at
07:00Z.

Calendar repeats (none, daily, weekly, monthly, custom in days) keep the local wall-clock
time: a daily 02:00 stays 02:00 across DST. A local time that does not exist (the spring
gap) fires at the next valid instant, when the gap ends; an ambiguous one (the autumn fold)
fires once, at its first occurrence. Hourly and custom minutes/hours repeats step in
absolute time from the first occurrence: "every 90 minutes" means 90 elapsed minutes, so
across a DST change their local times shift by the change, and none is skipped or doubled.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from models.enums import RepeatType, RepeatUnit

_UNITS = {
    RepeatUnit.MINUTES: timedelta(minutes=1),
    RepeatUnit.HOURS: timedelta(hours=1),
    RepeatUnit.DAYS: timedelta(days=1),
}


class ScheduleTiming(Protocol):
    """The fields that say when a schedule fires; `models.Schedule` rows have them."""

    @property
    def scheduled_datetime(self) -> datetime:
        """The first occurrence, wall-clock in `timezone` (stored labelled UTC)."""

    @property
    def timezone(self) -> str:
        """IANA zone name."""

    @property
    def repeat_type(self) -> str:
        """A `RepeatType` value."""

    @property
    def repeat_interval(self) -> int | None:
        """For custom: every N `repeat_unit`s."""

    @property
    def repeat_unit(self) -> str | None:
        """For custom: a `RepeatUnit` value."""

    @property
    def repeat_days_of_week(self) -> Sequence[int] | None:
        """For weekly: ISO weekdays, Monday = 1."""

    @property
    def repeat_day_of_month(self) -> int | None:
        """For monthly: the day, clamped to each month's last."""

    @property
    def repeat_end_date(self) -> datetime | None:
        """Nothing fires after this wall-clock time in `timezone`."""

    @property
    def max_occurrences(self) -> int | None:
        """Nothing fires once this many occurrences have fired."""


def as_wall_clock(value: datetime) -> datetime:
    """The date and time `value` is written with, labelled UTC: how schedules store them."""
    return value.replace(tzinfo=UTC)


def _local(value: datetime) -> datetime:
    """The naive wall-clock time of a stored (UTC-labelled) value."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def resolve(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which wall-clock `local` happens in `zone`.

    In a fold, the first of its two instants; in a gap, the instant the gap ends.
    """
    instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # `local` is skipped. Read with the offsets before and after the change, it names two
    # instants that bracket the change; find the first second whose local time passed it.
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low = int(min(instant, other).timestamp())
    high = int(max(instant, other).timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > local:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A schedule's timing, checked and typed; see the module docstring for the rules."""

    start: datetime  # naive wall-clock time of the first occurrence
    zone: ZoneInfo
    repeat_type: RepeatType = RepeatType.NONE
    interval: int = 1
    unit: RepeatUnit = RepeatUnit.DAYS
    days_of_week: frozenset[int] = frozenset()
    day_of_month: int = 1
    end: datetime | None = None  # UTC instant: nothing fires after it
    max_occurrences: int | None = None

    @classmethod
    def of(cls, timing: ScheduleTiming) -> Recurrence:
        """The recurrence of a schedule (or of its input).

        Weekly without days repeats on the first occurrence's weekday, monthly without a
        day on its day; the API refuses both, this only keeps odd rows from failing.
        """
        zone = ZoneInfo(timing.timezone)
        start = _local(timing.scheduled_datetime)
        end = timing.repeat_end_date
        return cls(
            start=start,
            zone=zone,
            repeat_type=RepeatType(timing.repeat_type),
            interval=max(timing.repeat_interval or 1, 1),
            unit=RepeatUnit(timing.repeat_unit or RepeatUnit.DAYS),
            days_of_week=frozenset(
                day for day in timing.repeat_days_of_week or (start.isoweekday(),) if 1 <= day <= 7
            ),
            day_of_month=timing.repeat_day_of_month or start.day,
            end=None if end is None else resolve(_local(end), zone),
            max_occurrences=timing.max_occurrences,
        )

    @property
    def step(self) -> timedelta | None:
        """The fixed distance between occurrences that repeat in absolute time, else None."""
        if self.repeat_type is RepeatType.HOURLY:
            return timedelta(hours=1)
        if self.repeat_type is RepeatType.CUSTOM and self.unit is not RepeatUnit.DAYS:
            return self.interval * _UNITS[self.unit]
        return None

    def first(self) -> datetime:
        """The instant of the first occurrence (limits aside)."""
        return resolve(self.start, self.zone)

    def following(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first occurrence after `instant` (or at it, if `inclusive`), limits aside.

        None when there is none: a one-time schedule already past, or past year 9999.
        """
        try:
            step = self.step
            if step is not None:
                return self._stepped(step, instant, inclusive=inclusive)
            # A day before: an occurrence in a gap that spans midnight resolves to the next day.
            earliest = instant.astimezone(self.zone).date() - timedelta(days=1)
            for day in self._dates(max(earliest, self.start.date())):
                occurrence = resolve(datetime.combine(day, self.start.time()), self.zone)
                if occurrence > instant or (inclusive and occurrence == instant):
                    return occurrence
        except OverflowError:
            return None
        return None

    def _stepped(self, step: timedelta, instant: datetime, *, inclusive: bool) -> datetime:
        first = self.first()
        if instant < first:
            return first
        steps, remainder = divmod(instant - first, step)
        if inclusive and not remainder:
            return instant
        return first + (steps + 1) * step

    def _dates(self, earliest: date) -> Iterator[date]:
        """Dates that have an occurrence, from `earliest` (never before the start's) on."""
        start = self.start.date()
        if self.repeat_type is RepeatType.NONE:
            yield start
        elif self.repeat_type in (RepeatType.DAILY, RepeatType.CUSTOM):
            every = self.interval if self.repeat_type is RepeatType.CUSTOM else 1
            count = -((start - earliest).days // every)  # ceil((earliest - start) / every)
            while True:
                yield start + timedelta(days=count * every)
                count += 1
        elif self.repeat_type is RepeatType.WEEKLY:
            if not self.days_of_week:
                return
            day = earliest
            while True:
                if day.isoweekday() in self.days_of_week:
                    yield day
                day += timedelta(days=1)
        else:
            year, month = earliest.year, earliest.month
            while year <= MAXYEAR:
                last = calendar.monthrange(year, month)[1]
                day = date(year, month, min(self.day_of_month, last))
                if day >= earliest:
                    yield day
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _within_limits(
    recurrence: Recurrence, occurrence: datetime | None, fired: int
) -> datetime | None:
    if occurrence is None:
        return None
    if recurrence.max_occurrences is not None and fired >= recurrence.max_occurrences:
        return None
    if recurrence.end is not None and occurrence > recurrence.end:
        return None
    return occurrence


def first_occurrence(recurrence: Recurrence, *, now: datetime, fired: int = 0) -> datetime | None:
    """The first occurrence at or after `now`, or None when the schedule has ended.

    `fired` is how many occurrences have fired already (`execution_count`); past ones that
    did not fire are skipped, not counted. This is `next_execution_at` on create and resume.
    """
    return _within_limits(recurrence, recurrence.following(now, inclusive=True), fired)


def next_occurrence(recurrence: Recurrence, after: datetime, *, fired: int = 0) -> datetime | None:
    """The first occurrence strictly after `after`, or None when the schedule has ended.

    After firing the occurrence at `t`, the next is `next_occurrence(r, t, fired=count)`.
    """
    return _within_limits(recurrence, recurrence.following(after), fired)
