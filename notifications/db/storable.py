"""What every database we run on can store, for input from outside: one rule for all of it.

PostgreSQL cannot store a NUL character in a text column or in JSON, and no database can encode
half of a UTF-16 surrogate pair (JSON's `"\\ud800"`), which is not Unicode. Python decodes and
encodes JSON recursively, so deep nesting overflows the stack (a 500) at a depth that depends on
how deep the stack already was: nothing we accept nests deeper than `MAX_JSON_DEPTH`.

The API's parser, the recipients' validators and the Sendios webhook parser all ask here.
"""

from __future__ import annotations

import re
from typing import Any

MAX_JSON_DEPTH = 32

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """What in `text` no database stores ("a NUL character", "half of a surrogate pair"), or
    None when it can be stored."""
    if found := _UNSTORABLE.search(text):
        return "a NUL character" if found.group() == "\x00" else "half of a surrogate pair"
    return None


def nesting_exceeds(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
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
