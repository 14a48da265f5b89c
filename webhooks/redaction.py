"""Keep webhook secrets out of logs: a secret sent in a URL is redacted from every line we write.

A sender that cannot do HTTP Basic puts the secret in the query string (`?token=<secret>`), and
web servers log request lines whole: runserver's `django.server` lines and gunicorn's access and
error logs. `UrlSecretFilter` rewrites any such line before a handler writes it.

Plain Python, no Django: gunicorn's master process loads it from its configuration file, before
(and without) Django's settings. So is `notifications.providers.redaction`, whose marker it uses.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from notifications.providers.redaction import REDACTED

# The query parameter that carries a webhook secret (webhooks.authentication reads it).
TOKEN_PARAMETER = "token"  # noqa: S105 - a parameter's name, not a secret

# A query parameter in a log line: after "?" or "&", up to the next "&" or ASCII whitespace (a
# request line separates the URL from the protocol with a space). Nothing else ends it, since a
# server may pass it on to Django: not "#" (runserver keeps a fragment in the query string), nor
# a quote, so a malformed request line logged in quotes loses its closing quote.
_PARAMETER = re.compile(r"(?<=[?&])([^&=\s]*)=([^&\s]*)", re.ASCII)


def redact_url_secrets(text: str) -> str:
    """`text` with the value of every `token` query parameter replaced by "[redacted]".

    Names are compared decoded, as Django decodes them: "%74oken" and "to%6Ben" are "token" too.
    """
    return _PARAMETER.sub(_redact_parameter, text)


def _redact_parameter(match: re.Match[str]) -> str:
    name, value = match.groups()
    if value and unquote_plus(name) == TOKEN_PARAMETER:
        return f"{name}={REDACTED}"
    return match.group(0)


class UrlSecretFilter(logging.Filter):
    """Redact webhook secrets from a record's message before any handler formats it.

    Never drops a record. Attached to a handler, it covers every logger whose records reach
    that handler; attached to a logger, only that logger's own records.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A record whose arguments do not fit its format is logging's to report
            # (Handler.handleError), not ours to raise into the code that logged it.
            return True
        redacted = redact_url_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
