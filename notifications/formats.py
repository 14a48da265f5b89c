"""How numbers read to a person, in their language: '48,000' in English, '48 000' in Russian.

Every count a page, a sentence or a message shows goes through `number_text` (templates use the
`num` filter, which calls it), so a language's grouping is applied everywhere at once.
"""

from __future__ import annotations

from django.utils.formats import number_format


def number_text(value: object) -> str:
    """An integer with its thousands grouped as the active language groups them."""
    try:
        return number_format(int(value), force_grouping=True)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
