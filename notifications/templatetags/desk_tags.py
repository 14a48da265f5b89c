"""Template filters of the campaign desk."""

from django import template

from notifications.formats import number_text

register = template.Library()


@register.filter
def num(value: object) -> str:
    """An integer with thousands grouped in the active language (`formats.number_text`)."""
    return number_text(value)


@register.filter
def moment(value: object) -> str:
    """A moment as every page shows it (`admin.base.moment_text`): in the person's time zone,
    '6 Dec, 18:30', with 'in 3 h 10 min' when it is still to come."""
    from notifications.admin.base import moment_text  # the admin imports these tags

    return "" if value is None else moment_text(value)
