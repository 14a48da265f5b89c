"""Send windows: inside or not, and the next opening, across clock changes and odd offsets."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.campaigns.windows import (
    ALL_DAYS,
    SendWindow,
    _spans,
    days_mask,
    days_of,
    send_window_errors,
    window_contains,
    window_opening,
    zone_named,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
MARQUESAS = ZoneInfo("Pacific/Marquesas")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
EVERY_DAY = frozenset(range(7))
DAYTIME = SendWindow(time(10), time(21), EVERY_DAY)
NIGHT = SendWindow(time(22), time(6), EVERY_DAY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def test_an_instant_inside_the_window_is_its_own_opening():
    instant = local(LONDON, 2026, 6, 10, 12, 0)
    assert window_contains(DAYTIME, LONDON, instant)
    assert window_opening(DAYTIME, LONDON, instant) == instant


def test_before_the_window_the_opening_is_its_start_the_same_day():
    opening = window_opening(DAYTIME, LONDON, local(LONDON, 2026, 6, 10, 7, 15))
    assert opening == local(LONDON, 2026, 6, 10, 10, 0)


def test_the_end_is_outside_and_opens_the_next_day():
    end = local(LONDON, 2026, 6, 10, 21, 0)
    assert not window_contains(DAYTIME, LONDON, end)
    assert window_opening(DAYTIME, LONDON, end) == local(LONDON, 2026, 6, 11, 10, 0)


def test_new_york_spring_forward_opening_in_the_skipped_hour_is_the_jump():
    # 2026-03-08: 02:00 EST becomes 03:00 EDT; 02:30 does not exist that day.
    window = SendWindow(time(2, 30), time(21), EVERY_DAY)
    opening = window_opening(window, NEW_YORK, local(NEW_YORK, 2026, 3, 8, 0, 0))
    assert opening == utc(2026, 3, 8, 7, 0)
    assert opening.astimezone(NEW_YORK).hour == 3


def test_new_york_spring_forward_daytime_window_opens_at_ten_edt():
    opening = window_opening(DAYTIME, NEW_YORK, utc(2026, 3, 8, 5, 0))
    assert opening == utc(2026, 3, 8, 14, 0)  # 10:00 EDT, UTC-4 from that morning


def test_new_york_fall_back_ambiguous_opening_is_the_first_occurrence():
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    window = SendWindow(time(1, 30), time(21), EVERY_DAY)
    opening = window_opening(window, NEW_YORK, utc(2026, 11, 1, 4, 0))
    assert opening == utc(2026, 11, 1, 5, 30)  # 01:30 EDT


def test_new_york_fall_back_window_stays_open_through_the_repeated_hour():
    window = SendWindow(time(1, 30), time(21), EVERY_DAY)
    second_one_fifteen = local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1)
    assert window_contains(window, NEW_YORK, second_one_fifteen)


def test_new_york_fall_back_night_window_ends_at_the_first_end():
    # 22:00-01:30 from Saturday: the first 01:30 (EDT) closes it; the repeated hour is quiet.
    window = SendWindow(time(22), time(1, 30), EVERY_DAY)
    assert window_contains(window, NEW_YORK, local(NEW_YORK, 2026, 11, 1, 1, 15))
    assert not window_contains(window, NEW_YORK, local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1))


def test_london_spring_forward_opening_at_one_is_the_jump_to_two():
    # 2026-03-29: 01:00 GMT becomes 02:00 BST.
    window = SendWindow(time(1, 0), time(6), EVERY_DAY)
    opening = window_opening(window, LONDON, utc(2026, 3, 28, 23, 0))
    assert opening == utc(2026, 3, 29, 1, 0)
    assert opening.astimezone(LONDON).hour == 2


def test_london_autumn_daytime_window_moves_with_the_clocks():
    # 2026-10-25: BST ends; 10:00 is 09:00 UTC on Saturday, 10:00 UTC on Sunday.
    assert window_opening(DAYTIME, LONDON, utc(2026, 10, 24, 6)) == utc(2026, 10, 24, 9)
    assert window_opening(DAYTIME, LONDON, utc(2026, 10, 25, 6)) == utc(2026, 10, 25, 10)


def test_a_window_wholly_inside_a_jump_does_not_open_that_day():
    window = SendWindow(time(1, 15), time(1, 45), EVERY_DAY)
    opening = window_opening(window, LONDON, utc(2026, 3, 29, 0, 0))
    assert opening == local(LONDON, 2026, 3, 30, 1, 15)


def test_kathmandu_quarter_hour_offset():
    # UTC+05:45: 10:00 local is 04:15 UTC.
    assert window_opening(DAYTIME, KATHMANDU, utc(2026, 6, 10, 0)) == utc(2026, 6, 10, 4, 15)


def test_marquesas_half_hour_behind():
    # UTC-09:30: 10:00 local is 19:30 UTC the same day.
    assert window_opening(DAYTIME, MARQUESAS, utc(2026, 6, 10, 12)) == utc(2026, 6, 10, 19, 30)


def test_lord_howe_half_hour_daylight_saving_change():
    # 2026-04-05 02:00 LHDT (+11) becomes 01:30 LHST (+10:30): 01:45 happens twice.
    window = SendWindow(time(1, 45), time(9), EVERY_DAY)
    opening = window_opening(window, LORD_HOWE, utc(2026, 4, 4, 13, 0))
    assert opening == utc(2026, 4, 4, 14, 45)  # the first 01:45, at +11:00
    # 2026-10-04 02:00 LHST becomes 02:30 LHDT: 02:10 does not exist, it opens at the jump.
    window = SendWindow(time(2, 10), time(9), EVERY_DAY)
    opening = window_opening(window, LORD_HOWE, utc(2026, 10, 3, 14, 0))
    assert opening == utc(2026, 10, 3, 15, 30)
    assert opening.astimezone(LORD_HOWE).time() == time(2, 30)


def test_a_window_crossing_midnight_is_open_after_midnight():
    assert window_contains(NIGHT, LONDON, local(LONDON, 2026, 6, 10, 3, 0))
    assert window_opening(NIGHT, LONDON, local(LONDON, 2026, 6, 10, 12)) == local(
        LONDON, 2026, 6, 10, 22, 0
    )


def test_a_day_belongs_to_the_window_that_starts_on_it():
    friday_night = SendWindow(time(22), time(6), frozenset({4}))
    # Saturday 03:00 is Friday's window; Friday 03:00 would be Thursday's, which is not chosen.
    assert window_contains(friday_night, LONDON, local(LONDON, 2026, 6, 13, 3, 0))
    assert not window_contains(friday_night, LONDON, local(LONDON, 2026, 6, 12, 3, 0))
    assert window_opening(friday_night, LONDON, local(LONDON, 2026, 6, 13, 6, 0)) == local(
        LONDON, 2026, 6, 19, 22, 0
    )


def test_weekdays_only_skip_the_weekend():
    weekdays = SendWindow(time(10), time(21), frozenset(range(5)))
    saturday = local(LONDON, 2026, 6, 13, 12, 0)
    assert window_opening(weekdays, LONDON, saturday) == local(LONDON, 2026, 6, 15, 10, 0)


def test_the_opening_is_given_in_utc():
    opening = window_opening(DAYTIME, KATHMANDU, utc(2026, 6, 10, 0))
    assert opening.tzinfo is UTC


def test_a_zone_is_asked_for_once_per_local_day_however_many_instants():
    _spans.cache_clear()
    start = utc(2026, 6, 10, 6)
    for second in range(0, 3600, 3):
        window_opening(DAYTIME, KATHMANDU, start + timedelta(seconds=second))
    assert _spans.cache_info().misses == 1


def test_days_are_stored_as_a_mask_of_weekdays():
    assert days_of(days_mask({0, 4, 6})) == {0, 4, 6}
    assert days_of(ALL_DAYS) == EVERY_DAY


def test_a_window_needs_distinct_edges_and_a_day():
    errors = send_window_errors(start=time(9), end=time(9), days=0)
    assert set(errors) == {"window_end", "window_days"}
    assert send_window_errors(start=time(22), end=time(6), days=1) == {}
    with pytest.raises(ValueError, match="not a send window"):
        SendWindow(time(9), time(9), EVERY_DAY)


def test_an_unknown_or_empty_zone_name_is_the_default():
    assert zone_named("", LONDON) is LONDON
    assert zone_named("Mars/Olympus_Mons", LONDON) is LONDON
    assert zone_named("Asia/Kathmandu", LONDON) == KATHMANDU


# --- Properties -------------------------------------------------------------------------------

ZONES = [NEW_YORK, LONDON, KATHMANDU, MARQUESAS, LORD_HOWE, ZoneInfo("UTC")]
FIXED_ZONES = [KATHMANDU, MARQUESAS, ZoneInfo("UTC")]
quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def windows(draw: st.DrawFn) -> SendWindow:
    start = draw(quarter_hours)
    end = draw(quarter_hours.filter(lambda end: end != start))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return SendWindow(start, end, days)


# Across 2026, both of its clock changes in each zone included.
instants = st.integers(0, 365 * 24 * 60 - 1).map(
    lambda minute: utc(2026, 1, 1) + timedelta(minutes=minute, seconds=17)
)


def _wall_clock_inside(window: SendWindow, zone: ZoneInfo, instant: datetime) -> bool:
    """The window read off the wall clock: right wherever the clocks do not move."""
    wall = instant.astimezone(zone)
    today, yesterday = wall.weekday(), (wall.weekday() - 1) % 7
    if not window.crosses_midnight:
        return today in window.days and window.start <= wall.time() < window.end
    return (today in window.days and wall.time() >= window.start) or (
        yesterday in window.days and wall.time() < window.end
    )


@settings(max_examples=150, deadline=None)
@given(window=windows(), zone=st.sampled_from(ZONES), instant=instants)
def test_the_opening_is_the_first_minute_inside_at_or_after_the_instant(window, zone, instant):
    opening = window_opening(window, zone, instant)
    assert opening >= instant
    assert window_contains(window, zone, opening)
    minute = instant
    while minute < opening:
        assert not window_contains(window, zone, minute)
        minute += timedelta(minutes=1)


@settings(max_examples=300, deadline=None)
@given(window=windows(), zone=st.sampled_from(FIXED_ZONES), instant=instants)
def test_where_clocks_never_change_inside_is_what_the_wall_clock_says(window, zone, instant):
    assert window_contains(window, zone, instant) == _wall_clock_inside(window, zone, instant)
