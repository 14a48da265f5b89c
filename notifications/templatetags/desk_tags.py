"""Template filters of the campaign desk."""

from django import template

register = template.Library()


@register.filter
def num(value: object) -> str:
    """An integer with thousands separated, as in 48,000 (django.contrib.humanize is not on)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)
