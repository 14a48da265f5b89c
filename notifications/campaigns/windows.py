"""Send windows: the hours of the day, on chosen days of the week, a message may reach a person
in their own time zone (quiet hours are the rest).

Pure arithmetic, no database: given a window, a zone and an instant, `window_contains` says
whether the instant is inside, and `window_opening` gives the first instant at or after it that
is (the instant itself when inside).

What the words mean, once:
- A window runs from `start` (included) to `end` (excluded), local time. An `end` at or before
  `start` crosses midnight: 22:00-06:00 ends the next morning. A day of the week belongs to the
  window that *starts* on it: Friday's 22:00-06:00 ends on Saturday morning, and Friday
  01:00 is inside only if Thursday is one of the days.
- A local time that does not exist that day (the clocks jump over it) stands for the first
  valid instant after it, the moment of the jump; a local time that happens twice (the clocks
  go back) stands for its first occurrence. A day's window is the span between its two edges
  so read: once open, it stays open until its end, however the clocks move in between; a window
  wholly inside a jump does not open that day.

Speed: a million recipients in thirty zones must cost thirty computations, not a million. The
open spans of one window in one zone, from the day before a local day to a week after it, are
computed once and kept (`_spans`, an LRU cache keyed by the window, the zone and the local
day); every question about an instant in that zone on that day is then a bisection of that
table. Callers sending to many people ask once per zone (`zone_named` keeps one ZoneInfo per
name), so the cost follows the zones, not the people.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext

# Days of the week as stored: bit `weekday()` (Monday 0 ... Sunday 6) of a small integer.
ALL_DAYS = 0b1111111
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def days_mask(weekdays: set[int] | frozenset[int] | list[int]) -> int:
    """The stored form of a set of weekdays (Monday 0 ... Sunday 6)."""
    return sum(1 << day for day in set(weekdays))


def days_of(mask: int) -> frozenset[int]:
    """The weekdays (Monday 0 ... Sunday 6) a stored mask holds."""
    return frozenset(day for day in range(7) if mask >> day & 1)


def send_window_errors(*, start: time | None, end: time | None, days: int) -> dict[str, list[str]]:
    """What makes a window impossible, by field: the same start and end (a window of no time,
    or of all of it: say which by turning the window off), or no day at all."""
    errors: dict[str, list[str]] = {}
    if start is not None and start == end:
        errors["window_end"] = [
            gettext(
                "The window must end at another time than it starts; to send at any hour, "
                "turn the window off."
            )
        ]
    if not days_of(days):
        errors["window_days"] = [gettext("Choose at least one day of the week.")]
    return errors


@dataclass(frozen=True)
class SendWindow:
    """When messages may go out, in the recipient's local time: from `start` to `end` (crossing
    midnight when `end` <= `start`) on the window's `days` (Monday 0 ... Sunday 6)."""

    start: time
    end: time
    days: frozenset[int]

    def __post_init__(self) -> None:
        # Checked by `send_window_errors` on every way in; here so arithmetic never loops on one.
        if self.start == self.end or not self.days:
            raise ValueError(f"not a send window: {self}")

    @classmethod
    def of(cls, start: time, end: time, days_stored: int) -> SendWindow:
        """The window as the models store it (days as a mask)."""
        return cls(start=start, end=end, days=days_of(days_stored))

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@lru_cache(maxsize=1024)
def zone_named(name: str, default: tzinfo) -> tzinfo:
    """The zone called `name`, or `default` for an empty name or one this system no longer
    knows (the zone database dropped it since it was stored): one object per name."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


def window_contains(window: SendWindow, zone: tzinfo, instant: datetime) -> bool:
    """Whether `instant` (aware) is inside `window` in `zone`."""
    # Compared in UTC: Python never finds a wall time the clocks show twice equal to a time in
    # another zone (PEP 495), even the same instant.
    instant = instant.astimezone(UTC)
    return window_opening(window, zone, instant) == instant


def window_opening(window: SendWindow, zone: tzinfo, instant: datetime) -> datetime:
    """The first instant at or after `instant` (aware) inside `window` in `zone`: `instant`
    itself when it is inside. Returned in UTC."""
    instant = instant.astimezone(UTC)
    opens, closes = _spans(window, zone, instant.astimezone(zone).date())
    # The first span that has not closed yet; the table reaches a week ahead, and every
    # window opens at least once a week, so there is one.
    index = bisect.bisect_right(closes, instant)
    return max(opens[index], instant)


@lru_cache(maxsize=4096)
def _spans(
    window: SendWindow, zone: tzinfo, day: date
) -> tuple[tuple[datetime, ...], tuple[datetime, ...]]:
    """The window's open spans in `zone` (their openings and their ends, in UTC, in order) for
    the windows starting from the day before local `day` (one crossing midnight may still be
    open) to eight days after it."""
    opens: list[datetime] = []
    closes: list[datetime] = []
    for offset in range(-1, 9):
        start_day = day + timedelta(days=offset)
        if start_day.weekday() not in window.days:
            continue
        end_day = start_day + timedelta(days=1) if window.crosses_midnight else start_day
        opening = _instant(datetime.combine(start_day, window.start), zone)
        closing = _instant(datetime.combine(end_day, window.end), zone)
        if opening < closing:
            opens.append(opening)
            closes.append(closing)
    return tuple(opens), tuple(closes)


def _instant(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant a wall-clock time `local` names in `zone`: its first occurrence when the
    clocks show it twice, the moment of the jump when they skip it."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # Skipped. Read with the offsets from either side of the jump, it falls on either side of
    # the jump's moment; between them the wall clock only moves forward, so the moment is the
    # first second whose wall time is past `local`.
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = sorted((first, other))
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    while low_s < high_s:
        middle = (low_s + high_s) // 2
        wall = datetime.fromtimestamp(middle, UTC).astimezone(zone).replace(tzinfo=None)
        if wall >= local:
            high_s = middle
        else:
            low_s = middle + 1
    return datetime.fromtimestamp(high_s, UTC)
