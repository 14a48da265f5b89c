"""What a provider's answer means: the verdicts its status maps hold, and the shared defaults.

Each provider module keeps its own table (HTTP status or error code to `Verdict`) at its top;
`verdict_for_status` applies the rules every vendor shares where its table says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .values import ResultStatus


class Verdict(StrEnum):
    """What a provider's answer means for the messages of a request: the status maps' values."""

    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    # Retry, and hold every request to this account until the provider's time.
    HOLD = "hold"
    UNKNOWN = "unknown"
    # Raise ProviderConfigurationError: credentials or settings need a person.
    CONFIGURATION = "configuration"
    # Bitrix24: refresh the access token and repeat the request once.
    REFRESH = "refresh"


# "No such endpoint or method here": the URL we were given does not lead to the API's method, so
# every request of the campaign would get the same answer. A redirect says so too: redirects are
# never followed (a redirected POST would become a GET), so the URL is not the API's own. Every
# provider reads its answers' "check the URL" hint from this set; one whose 404 means something
# about the message (Yandex Market: the chat is gone) says so in its own table.
NOT_THE_API = frozenset({*range(300, 400), 404, 405})


def verdict_for_status(status_code: int, table: Mapping[int, Verdict]) -> Verdict:
    """The verdict of an HTTP status: the provider's table, else 5xx retry and 4xx failed.

    A status in `NOT_THE_API` (3xx, 404, 405) is a configuration problem unless the provider's
    table says otherwise.
    """
    if status_code in table:
        return table[status_code]
    if status_code in NOT_THE_API:
        return Verdict.CONFIGURATION
    if status_code >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


RESULT_OF_VERDICT = {
    Verdict.SENT: ResultStatus.SENT,
    Verdict.FAILED: ResultStatus.FAILED,
    Verdict.RETRY: ResultStatus.RETRY,
    Verdict.HOLD: ResultStatus.RETRY,
    Verdict.UNKNOWN: ResultStatus.UNKNOWN,
    Verdict.REFRESH: ResultStatus.RETRY,
}
