"""The request and reply values the provider modules work with, and the parsing they share."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    """One HTTP request as the emulator received it; headers keep their case-insensitive map."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    @cached_property
    def query(self) -> dict[str, str]:
        """The query's last value per name (what PHP and most frameworks see)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @cached_property
    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """An answer: a status, a JSON-able body (or raw bytes), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        """The body's bytes and content type."""
        if isinstance(self.body, bytes):
            return self.body, "text/plain; charset=utf-8"
        if self.body is None:
            return b"", "application/json"
        return json.dumps(self.body, ensure_ascii=False).encode(), "application/json"


def text_hash(*parts: str) -> str:
    """A short, stable digest of a message's content, for counting duplicates across processes."""
    joined = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=8).hexdigest()


def is_id(value: Any, maximum: int) -> bool:
    """A positive whole number up to `maximum`, as an int or its decimal text (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value <= maximum
    if isinstance(value, str) and value.isdigit():
        return 0 < int(value) <= maximum
    return False


_PHP_KEY = re.compile(r"^(?P<name>[^\[\]]+)(?P<subscripts>(?:\[[^\[\]]*\])*)$")
_SUBSCRIPT = re.compile(r"\[([^\[\]]*)\]")


def php_query(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Read `a=1&b[]=2&b[]=3&c[0][x]=4` the way PHP does: brackets make lists and maps.

    `b[]` appends; `c[0][x]` nests. A map whose keys are all digits becomes a list in key order.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _PHP_KEY.match(key)
        if not match:
            root[key] = value
            continue
        path = [match["name"], *_SUBSCRIPT.findall(match["subscripts"])]
        node = root
        for part in path[:-1]:
            child = node.get(part or str(len(node)))
            if not isinstance(child, dict):
                child = node[part or str(len(node))] = {}
            node = child
        node[path[-1] or str(len(node))] = value
    return _listed(root)


def _listed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listed(child) for key, child in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items
