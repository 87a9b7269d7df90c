"""Occurrences of schedules in their time zones: repeat types, limits, DST gaps and folds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.enums import RepeatType, RepeatUnit
from resolvers.recurrence import (
    Recurrence,
    as_wall_clock,
    first_occurrence,
    next_occurrence,
    resolve,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = datetime(1960, 1, 1, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def occurrences(recurrence: Recurrence, count: int, *, now: datetime = LONG_AGO) -> list[datetime]:
    """Up to `count` occurrences from `now` on, firing each (so max_occurrences counts)."""
    found: list[datetime] = []
    current = first_occurrence(recurrence, now=now)
    while current is not None and len(found) < count:
        found.append(current)
        current = next_occurrence(recurrence, current, fired=len(found))
    return found


@dataclass(frozen=True)
class Timing:
    scheduled_datetime: datetime
    timezone: str = "UTC"
    repeat_type: str = "none"
    repeat_interval: int | None = None
    repeat_unit: str | None = None
    repeat_days_of_week: list[int] | None = None
    repeat_day_of_month: int | None = None
    repeat_end_date: datetime | None = None
    max_occurrences: int | None = None


def test_the_specs_example_fires_at_two_in_the_morning_new_york_time() -> None:
    timing = Timing(utc(2026, 1, 18, 2), timezone="America/New_York", repeat_type="daily")

    recurrence = Recurrence.of(timing)

    assert first_occurrence(recurrence, now=utc(2026, 1, 17, 10)) == utc(2026, 1, 18, 7)


def test_the_offset_a_time_is_written_with_does_not_matter() -> None:
    written = datetime(2026, 1, 18, 2, tzinfo=ZoneInfo("Asia/Tokyo"))

    timing = Timing(as_wall_clock(written), timezone="America/New_York")

    assert Recurrence.of(timing).first() == utc(2026, 1, 18, 7)


def test_daily_keeps_the_local_time_across_both_dst_changes() -> None:
    recurrence = Recurrence(datetime(2026, 3, 7, 2), NEW_YORK, RepeatType.DAILY)

    found = occurrences(recurrence, 3) + occurrences(recurrence, 2, now=utc(2026, 10, 31, 12))

    assert found == [
        utc(2026, 3, 7, 7),  # EST
        utc(2026, 3, 8, 7),  # 02:00 does not exist that day: 03:00 EDT
        utc(2026, 3, 9, 6),  # EDT
        utc(2026, 11, 1, 7),  # EST again
        utc(2026, 11, 2, 7),
    ]


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (NEW_YORK, date(2026, 3, 8), utc(2026, 3, 8, 7)),  # 03:00 EDT
        (BERLIN, date(2026, 3, 29), utc(2026, 3, 29, 1)),  # 03:00 CEST
    ],
)
def test_a_time_in_the_spring_gap_fires_when_the_gap_ends(
    zone: ZoneInfo, day: date, expected: datetime
) -> None:
    recurrence = Recurrence(datetime.combine(day, time(2, 30)), zone, RepeatType.DAILY)

    first, second = occurrences(recurrence, 2)

    assert first == expected
    assert first.astimezone(zone).time() == time(3)
    assert second.astimezone(zone).time() == time(2, 30)


@pytest.mark.parametrize(
    ("zone", "local", "first_instant"),
    [
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),  # EDT, not EST
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),  # CEST, not CET
    ],
)
def test_a_time_in_the_autumn_fold_fires_once_at_its_first_occurrence(
    zone: ZoneInfo, local: datetime, first_instant: datetime
) -> None:
    recurrence = Recurrence(local, zone, RepeatType.DAILY)

    first, second = occurrences(recurrence, 2)

    assert first == first_instant
    assert second - first == timedelta(hours=25)  # the next day, not the repeated hour
    assert second.astimezone(zone).replace(tzinfo=None) == local + timedelta(days=1)


def test_a_gap_that_spans_midnight_fires_on_the_next_day_and_is_found_from_there() -> None:
    # Nuuk skipped from 2024-03-30 23:00 to 03-31 00:00: 23:30 on the 30th fires at midnight.
    nuuk = ZoneInfo("America/Nuuk")
    recurrence = Recurrence(datetime(2024, 3, 29, 23, 30), nuuk, RepeatType.DAILY)
    gap_end = datetime(2024, 3, 31, tzinfo=nuuk).astimezone(UTC)

    assert occurrences(recurrence, 3)[1] == gap_end
    assert first_occurrence(recurrence, now=gap_end) == gap_end
    assert next_occurrence(recurrence, gap_end - timedelta(seconds=1)) == gap_end


def test_hourly_steps_in_absolute_time_through_the_fold() -> None:
    recurrence = Recurrence(datetime(2026, 11, 1, 0, 30), NEW_YORK, RepeatType.HOURLY)

    found = occurrences(recurrence, 4)

    assert found == [utc(2026, 11, 1, hour, 30) for hour in (4, 5, 6, 7)]
    local_hours = [occurrence.astimezone(NEW_YORK).hour for occurrence in found]
    assert local_hours == [0, 1, 1, 2]


def test_hourly_starting_in_the_gap_starts_when_it_ends() -> None:
    recurrence = Recurrence(datetime(2026, 3, 8, 2, 15), NEW_YORK, RepeatType.HOURLY)

    assert occurrences(recurrence, 2) == [utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)]


@pytest.mark.parametrize(
    ("unit", "interval", "gap"),
    [
        (RepeatUnit.MINUTES, 90, timedelta(minutes=90)),
        (RepeatUnit.HOURS, 5, timedelta(hours=5)),
    ],
)
def test_custom_minutes_and_hours_step_in_absolute_time(
    unit: RepeatUnit, interval: int, gap: timedelta
) -> None:
    recurrence = Recurrence(
        datetime(2026, 3, 7, 22), NEW_YORK, RepeatType.CUSTOM, interval=interval, unit=unit
    )

    found = occurrences(recurrence, 6)

    assert found[0] == utc(2026, 3, 8, 3)
    assert {later - earlier for earlier, later in pairwise(found)} == {gap}


def test_custom_days_keep_the_local_time() -> None:
    recurrence = Recurrence(datetime(2026, 3, 5, 9), NEW_YORK, RepeatType.CUSTOM, interval=3)

    found = occurrences(recurrence, 3)

    assert [o.astimezone(NEW_YORK).replace(tzinfo=None) for o in found] == [
        datetime(2026, 3, 5, 9),
        datetime(2026, 3, 8, 9),
        datetime(2026, 3, 11, 9),
    ]


def test_weekly_fires_on_the_listed_days_from_the_start_on() -> None:
    # 2026-01-06 is a Tuesday; Monday, Wednesday and Friday are listed.
    recurrence = Recurrence(
        datetime(2026, 1, 6, 8), BERLIN, RepeatType.WEEKLY, days_of_week=frozenset({1, 3, 5})
    )

    found = occurrences(recurrence, 4)

    assert [o.astimezone(BERLIN).date() for o in found] == [
        date(2026, 1, 7),
        date(2026, 1, 9),
        date(2026, 1, 12),
        date(2026, 1, 14),
    ]
    assert {o.astimezone(BERLIN).time() for o in found} == {time(8)}


def test_monthly_clamps_to_the_last_day_of_shorter_months() -> None:
    recurrence = Recurrence(
        datetime(2028, 1, 31, 6), ZoneInfo("UTC"), RepeatType.MONTHLY, day_of_month=31
    )

    found = occurrences(recurrence, 4)

    assert [o.date() for o in found] == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_monthly_starts_with_the_first_matching_day_not_before_the_start() -> None:
    recurrence = Recurrence(
        datetime(2026, 1, 20, 6), ZoneInfo("UTC"), RepeatType.MONTHLY, day_of_month=15
    )

    assert occurrences(recurrence, 1) == [utc(2026, 2, 15, 6)]


def test_a_one_time_schedule_fires_once_and_not_when_past() -> None:
    recurrence = Recurrence(datetime(2026, 5, 1, 12), BERLIN)

    assert occurrences(recurrence, 5) == [utc(2026, 5, 1, 10)]
    assert first_occurrence(recurrence, now=utc(2026, 5, 1, 10)) == utc(2026, 5, 1, 10)
    assert first_occurrence(recurrence, now=utc(2026, 5, 1, 10, 0, 1)) is None


def test_a_past_recurring_schedule_continues_with_the_next_occurrence_after_now() -> None:
    recurrence = Recurrence(datetime(2026, 1, 18, 2), NEW_YORK, RepeatType.DAILY)

    assert first_occurrence(recurrence, now=utc(2026, 11, 21, 16, 58)) == utc(2026, 11, 22, 7)
    assert first_occurrence(recurrence, now=utc(2026, 11, 22, 7)) == utc(2026, 11, 22, 7)
    assert next_occurrence(recurrence, utc(2026, 11, 22, 7)) == utc(2026, 11, 23, 7)


def test_the_end_date_is_a_local_time_and_inclusive() -> None:
    timing = Timing(
        utc(2026, 1, 1, 2),
        timezone="America/New_York",
        repeat_type="daily",
        repeat_end_date=utc(2026, 1, 3, 2),
    )

    found = occurrences(Recurrence.of(timing), 10)

    assert found == [utc(2026, 1, 1, 7), utc(2026, 1, 2, 7), utc(2026, 1, 3, 7)]


def test_max_occurrences_counts_what_has_fired() -> None:
    recurrence = Recurrence(datetime(2026, 1, 1), NEW_YORK, RepeatType.HOURLY, max_occurrences=3)

    assert len(occurrences(recurrence, 10)) == 3
    assert first_occurrence(recurrence, now=LONG_AGO, fired=3) is None
    assert next_occurrence(recurrence, LONG_AGO, fired=2) == utc(2026, 1, 1, 5)


def test_the_end_of_the_calendar_ends_a_schedule_instead_of_failing() -> None:
    for repeat_type in (RepeatType.DAILY, RepeatType.MONTHLY, RepeatType.HOURLY):
        recurrence = Recurrence(
            datetime(9999, 12, 31, 23, 30), ZoneInfo("UTC"), repeat_type, day_of_month=31
        )
        assert occurrences(recurrence, 5) == [utc(9999, 12, 31, 23, 30)]


def test_a_row_without_weekdays_or_day_repeats_on_the_starts() -> None:
    weekly = Timing(utc(2026, 1, 6, 8), repeat_type="weekly")  # a Tuesday
    monthly = Timing(utc(2026, 1, 6, 8), repeat_type="monthly")

    assert Recurrence.of(weekly).days_of_week == frozenset({2})
    assert Recurrence.of(monthly).day_of_month == 6


# Properties, for random schedules in every zone.

ZONES = sorted(available_timezones())
CALENDAR = [RepeatType.DAILY, RepeatType.WEEKLY, RepeatType.MONTHLY, RepeatType.CUSTOM]


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    start = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1)))
    repeat_type = draw(st.sampled_from(list(RepeatType)))
    unit = draw(st.sampled_from(list(RepeatUnit)))
    end = None
    if draw(st.booleans()):
        end_wall = start + draw(
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
        )
        end = resolve(end_wall, zone)
    return Recurrence(
        start=start,
        zone=zone,
        repeat_type=repeat_type,
        interval=draw(
            st.integers(min_value=1, max_value=5_000 if unit is RepeatUnit.MINUTES else 60)
        ),
        unit=unit,
        days_of_week=draw(st.frozensets(st.integers(1, 7), min_size=1)),
        day_of_month=draw(st.integers(1, 31)),
        end=end,
        max_occurrences=draw(st.none() | st.integers(1, 30)),
    )


def intended_date(occurrence: datetime, at: time, zone: ZoneInfo) -> date:
    """The local date whose `at` the occurrence stands for; fails unless it lands on `at`
    (first of a fold) or, when `at` does not exist that day, at the end of the gap."""
    local = occurrence.astimezone(zone)
    wall = local.replace(tzinfo=None)
    if wall.time() == at:
        assert local.fold == 0, f"{occurrence} is the second {wall} in {zone}"
        return wall.date()
    intended = datetime.combine(wall.date(), at)
    if intended > wall:  # a gap across midnight
        intended -= timedelta(days=1)
    just_before = (occurrence - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
    assert just_before < intended < wall, f"{occurrence} is not {at} in {zone} nor after a gap"
    return intended.date()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recurrences())
def test_occurrences_increase_respect_limits_and_land_on_the_intended_time(
    recurrence: Recurrence,
) -> None:
    found = occurrences(recurrence, 40)

    if not found:  # only when it ends before its first occurrence
        first = recurrence.following(LONG_AGO)
        assert recurrence.end is not None and first is not None and first > recurrence.end
        return
    assert all(earlier < later for earlier, later in pairwise(found))
    if recurrence.max_occurrences is not None:
        assert len(found) <= recurrence.max_occurrences
    if recurrence.end is not None:
        assert found[-1] <= recurrence.end
    if recurrence.step is not None:
        assert found[0] == recurrence.first()
        steps = {later - earlier for earlier, later in pairwise(found)}
        assert steps <= {recurrence.step}
        return
    dates = [intended_date(o, recurrence.start.time(), recurrence.zone) for o in found]
    assert dates[0] >= recurrence.start.date()
    if recurrence.repeat_type is RepeatType.NONE:
        assert dates == [recurrence.start.date()]
    elif recurrence.repeat_type is RepeatType.WEEKLY:
        assert {day.isoweekday() for day in dates} <= recurrence.days_of_week
    elif recurrence.repeat_type is RepeatType.MONTHLY:
        for day in dates:
            last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            assert day.day == min(recurrence.day_of_month, last.day)
    else:
        every = recurrence.interval if recurrence.repeat_type is RepeatType.CUSTOM else 1
        assert {(later - earlier).days for earlier, later in pairwise(dates)} <= {every}
        assert (dates[0] - recurrence.start.date()).days % every == 0


@settings(max_examples=200, deadline=None)
@given(recurrences(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=300)))
def test_next_occurrence_is_the_first_one_after_any_instant(
    recurrence: Recurrence, offset: timedelta
) -> None:
    unlimited = Recurrence(
        start=recurrence.start,
        zone=recurrence.zone,
        repeat_type=recurrence.repeat_type,
        interval=recurrence.interval,
        unit=recurrence.unit,
        days_of_week=recurrence.days_of_week,
        day_of_month=recurrence.day_of_month,
    )
    found = occurrences(unlimited, 400)
    instant = found[0] - timedelta(hours=1) + offset

    expected = next((o for o in found if o > instant), None)

    if expected is not None:
        assert next_occurrence(unlimited, instant) == expected
        assert first_occurrence(unlimited, now=expected) == expected


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(
        [
            # (zone, day, local hour) of each gap and fold of 2026
            ("America/New_York", date(2026, 3, 8), 2),
            ("America/New_York", date(2026, 11, 1), 1),
            ("Europe/Berlin", date(2026, 3, 29), 2),
            ("Europe/Berlin", date(2026, 10, 25), 2),
        ]
    ),
    st.integers(0, 59),
)
def test_daily_schedules_through_the_2026_changes_of_new_york_and_berlin(
    change: tuple[str, date, int], minute: int
) -> None:
    zone_name, day, hour = change
    zone = ZoneInfo(zone_name)
    daily = Recurrence(
        datetime.combine(day - timedelta(days=2), time(hour, minute)), zone, RepeatType.DAILY
    )

    found = occurrences(daily, 5)

    on_the_day = found[2]
    local = on_the_day.astimezone(zone)
    if day.month == 3:  # the gap: fires when it ends, at 03:00
        assert local.replace(tzinfo=None) == datetime.combine(day, time(3))
    else:  # the fold: once, at the first of the two
        assert (local.time(), local.fold) == (time(hour, minute), 0)
        assert found[3] - on_the_day == timedelta(hours=25)
    assert [o.astimezone(zone).time() for o in found[3:]] == [time(hour, minute)] * 2
