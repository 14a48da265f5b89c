"""The API's one request parser: JSON, nested no deeper than any of its requests needs.

Python decodes and encodes JSON recursively, so a body of a thousand nested arrays would end
in a `RecursionError` (a 500) in the decoder, or, a little shallower, later in whatever walks
the data. The deepest request the API takes nests four levels (the body, `recipients`, an item,
its `attributes`); anything past `MAX_JSON_DEPTH` is refused as unparseable (400) before a view
sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32

TOO_DEEP = f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels."


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
            raise ParseError(TOO_DEEP) from None
        if nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


def nesting_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects in decoded JSON nest more than `limit` levels deep.

    Walked with a stack rather than by recursion, so the check itself cannot overflow.
    """
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
