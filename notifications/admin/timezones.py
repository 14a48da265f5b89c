"""Dates and times staff type, read in their own time zone and named on the page.

The browser's own picker (`<input type="datetime-local">`) gives a wall-clock time without a
zone; `ZonedDateTimeField` reads it in the zone active for the request (the person's, set by
`config.middleware.StaffTimeZone`). A wall-clock time that a change of clocks skips or repeats is
refused with a sentence rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext

# What a datetime-local input sends and shows: minutes, no seconds, no zone.
PICKER_FORMAT = "%Y-%m-%dT%H:%M"


def zone_label(zone: tzinfo | None = None, at: datetime | None = None) -> str:
    """A zone as staff read it, with its offset at `at` (now by default):
    'Europe/Moscow, UTC+03:00', or just 'UTC'."""
    zone = zone or timezone.get_current_timezone()
    name = str(zone)
    if name == "UTC":
        return name
    offset = (at or timezone.now()).astimezone(zone).strftime("%z")
    return f"{name}, UTC{offset[:3]}:{offset[3:]}"


def _day_and_time(local: datetime) -> str:
    return date_format(local, "j M Y, H:i")


def zoned(local: datetime, zone: tzinfo) -> datetime:
    """The moment a wall-clock time `local` names in `zone`; a ValidationError for one the
    clocks skip (spring forward) or show twice (fall back)."""
    first, second = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise forms.ValidationError(
            gettext(
                "There is no %(moment)s in %(zone)s: the clocks go forward then. "
                "Choose another time."
            )
            % {"moment": _day_and_time(local), "zone": zone},
            code="nonexistent",
        )
    if first.utcoffset() != second.utcoffset():
        raise forms.ValidationError(
            gettext(
                "%(moment)s happens twice in %(zone)s, as the clocks go back: "
                "choose a time outside that hour."
            )
            % {"moment": _day_and_time(local), "zone": zone},
            code="ambiguous",
        )
    return first


class ZonedDateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker, no earlier than now, with the zone named beside it."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=PICKER_FORMAT)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["min"] = timezone.localtime().strftime(PICKER_FORMAT)
        return context

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        picker = super().render(name, value, attrs, renderer)
        return format_html('{} <span class="time-zone">{}</span>', picker, zone_label())


class ZonedDateTimeField(forms.DateTimeField):
    """A date and time from the picker, read in the zone active for the request.

    Whether it is in the future is the services' rule (they refuse a past time on this field).
    """

    widget = ZonedDateTimeInput

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = parse_datetime(str(value).strip())
            except ValueError:
                parsed = None
            if parsed is None:
                raise forms.ValidationError(
                    gettext("Enter a date and time, such as 2026-12-01 09:00."), code="invalid"
                )
        if timezone.is_aware(parsed):
            return parsed
        return zoned(parsed, timezone.get_current_timezone())

    def prepare_value(self, value: Any) -> Any:
        # Shown in the person's zone, to the minute, as the picker reads it.
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)
        return value
