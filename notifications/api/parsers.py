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

    Walked level by level rather than by recursion, so the check itself cannot overflow, and
    each level keeps only its arrays and objects, so a value is looked at once.
    """
    level = [data] if type(data) in _CONTAINERS else []
    for _ in range(limit):
        children = []
        for value in level:
            children.extend(value.values() if type(value) is dict else value)
        level = [child for child in children if type(child) in _CONTAINERS]
    return bool(level)


# The decoder makes exactly these types; comparing types is three times faster than isinstance.
_CONTAINERS = (dict, list)
