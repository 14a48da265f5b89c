"""One value of a rule in its stored form, or a ValueError that says, in staff's words, why it
is not one: a text, number, date or yes/no, a range, a number of days, an id.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from notifications.db.storable import unstorable_character
from notifications.recipients.attributes import typed_value

from .vocabulary import MAX_DAYS, MAX_TEXT, TEXT, kind_words


def _storable(value: Any) -> None:
    # Before any message echoes the value: a page cannot hold half a surrogate pair, and
    # PostgreSQL compares no text with a NUL in it.
    if isinstance(value, str) and (what := unstorable_character(value)):
        raise ValueError(
            gettext("the value contains %(what)s, which cannot be stored.") % {"what": what}
        )


def scalar_clean(kind: str, value: Any) -> Any:
    """`value` as a stored value of type `kind` (a text at most MAX_TEXT long)."""
    if isinstance(value, dict | list) or value is None or value == "":
        raise ValueError(gettext("the value must be %(kind)s.") % {"kind": kind_words(kind)})
    _storable(value)
    clean = typed_value(kind, value)
    if isinstance(clean, str) and len(clean) > MAX_TEXT:
        raise ValueError(
            gettext("the value is longer than %(count)s characters.") % {"count": MAX_TEXT}
        )
    return clean


def between_clean(kind: str, value: Any) -> list[Any]:
    """`[low, high]` of numbers or dates, low not above high."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(gettext("between takes two values: [low, high]."))
    if kind == TEXT:
        raise ValueError(gettext("between applies to numbers and dates."))
    low, high = (scalar_clean(kind, item) for item in value)
    if low > high:
        raise ValueError(
            gettext("the low end (%(low)s) is above the high end (%(high)s).")
            % {"low": low, "high": high}
        )
    return [low, high]


def days_clean(value: Any) -> int:
    """A whole number of days from 0 to MAX_DAYS."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(gettext("the number of days must be a whole number."))
    _storable(value)
    try:
        days = int(value)
    except ValueError:
        raise ValueError(
            gettext("'%(value)s' is not a whole number of days.") % {"value": value}
        ) from None
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(
            gettext("the number of days must be between 0 and %(most)s.") % {"most": MAX_DAYS}
        )
    return days


# The largest id a row can have (64-bit keys): a larger number names nothing, and SQLite's
# driver cannot even send it.
MAX_ID = 2**63 - 1


def id_clean(value: Any, what: str) -> int:
    """The id of a row (`what` names its kind in the error), as a number."""
    text = str(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not text.isdigit()
        or len(text) > len(str(MAX_ID))
        or int(text) > MAX_ID
    ):
        raise ValueError(
            gettext("%(value)s is not the id of %(what)s.") % {"value": repr(value), "what": what}
        )
    return int(value)
