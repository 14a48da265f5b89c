"""The API's one request parser: JSON, nested no deeper than any of its requests needs.

Python decodes JSON recursively, so a body of a thousand nested arrays ended in a
`RecursionError` (a 500), at a depth that depends on how deep the stack already was. The
deepest request the API takes nests four levels (the body, `recipients`, an item, its
`attributes`); anything past `MAX_JSON_DEPTH` is refused as unparseable (400) before a view
sees it, and a decoder that overflows all the same gives the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from notifications.db.storable import MAX_JSON_DEPTH, nesting_exceeds


def _too_deep() -> str:
    """The refusal of a body nested past `MAX_JSON_DEPTH`, in the request's language."""
    return gettext("JSON parse error - the body is nested deeper than %(depth)s levels.") % {
        "depth": MAX_JSON_DEPTH
    }


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (NaN and Infinity refused), with nesting bounded by `MAX_JSON_DEPTH`."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        if nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(_too_deep())
        return data
