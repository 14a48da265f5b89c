"""A send window in a form (the campaign's, the site's sending rules): its days as ticks, its
times with the browser's picker, asked for only while the window is on, and the domain's window
errors beside their fields.
"""

from typing import Any

from django import forms
from django.utils.dates import WEEKDAYS_ABBR

from notifications.campaigns.sending_rules import window_errors, window_fields_of
from notifications.campaigns.windows import days_mask, days_of


class WeekdaysField(forms.MultipleChoiceField):
    """Days of the week as ticks, Monday first, held as the models store them (a mask).

    Not required: no day ticked is the domain's error, worded there."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=[(str(day), WEEKDAYS_ABBR[day]) for day in range(7)], **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return [str(day) for day in sorted(days_of(value))]
        return value

    def clean(self, value: Any) -> int:
        return days_mask([int(day) for day in super().clean(value)])

    def has_changed(self, initial: Any, data: Any) -> bool:
        return super().has_changed(self.prepare_value(initial), data)


# Local times with the browser's own picker, to the minute.
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WINDOW_WIDGETS = {"window_start": TIME_INPUT, "window_end": TIME_INPUT}


WINDOW_SETTINGS = ("window_start", "window_end", "window_days")


def window_fields_optional(form: forms.ModelForm) -> None:
    """The window's times and days are asked for only when it is on (`clean_window`)."""
    for name in WINDOW_SETTINGS:
        if name in form.fields:
            form.fields[name].required = False


def clean_window(form: forms.ModelForm, cleaned: dict) -> None:
    """Times and days left empty keep what was shown when the window is off (they wait for it
    to be turned on), and are required when it is on; then the domain's window errors beside
    their fields, for the window the form would save (a field shown read-only is the
    object's own)."""
    window_on = cleaned.get("window_on", form.instance.window_on)
    for name in WINDOW_SETTINGS:
        if name not in form.fields or name in form.errors or cleaned.get(name) not in (None, 0):
            continue
        if window_on:
            form.add_error(name, form.fields[name].error_messages["required"])
        else:
            shown = form.get_initial_for_field(form.fields[name], name)
            cleaned[name] = shown if shown not in (None, 0) else getattr(form.instance, name)
    if any(name in form.errors for name in WINDOW_SETTINGS):
        return
    fields = {**window_fields_of(form.instance), **cleaned}
    for field, messages in window_errors(fields).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
