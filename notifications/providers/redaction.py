"""Secrets out of every log line, exception text and stored answer.

API keys, tokens, the LeadConverter token inside its URL path and OAuth secrets are removed by a
`Redactor`, raw and URL-encoded. urllib3's own request lines are scrubbed too, by a logging
filter that uses the redactor of the request in flight (see `redacting`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"


class Redactor:
    """Removes known secrets, raw and URL-encoded, from text and from JSON-like values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Remember more secrets (Bitrix24 tokens appear as they rotate)."""
        with self._lock:
            forms = set(self._forms)
            for secret in secrets:
                if secret:
                    forms.update(
                        {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
                    )
            # Longest first, so a secret that contains another is removed whole.
            self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a parsed JSON value with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(str(key)): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


# urllib3 logs every request line at DEBUG, LeadConverter's token and Bitrix24's OAuth query
# included. While a provider's request is in flight its redactor is here, and this filter scrubs
# urllib3's records with it (a context variable: each thread sees its own request).
_ACTIVE_REDACTOR: ContextVar[Redactor | None] = ContextVar("provider_redactor", default=None)


@contextmanager
def redacting(redactor: Redactor) -> Iterator[None]:
    """While the block runs, urllib3's log records in this context are scrubbed by `redactor`."""
    active = _ACTIVE_REDACTOR.set(redactor)
    try:
        yield
    finally:
        _ACTIVE_REDACTOR.reset(active)


class _Urllib3Redaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _ACTIVE_REDACTOR.get()
        if redactor is not None:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = str(record.msg)
            record.msg, record.args = redactor(message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_Urllib3Redaction())
