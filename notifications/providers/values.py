"""The values passed between the dispatch engine and a provider: what to send and what became of it.

A provider takes `OutboundMessage`s (an address and rendered `Content`) and gives back a
`BatchOutcome`: one `SendResult` per message, in order, plus what the rate limiter must know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from notifications.reasons import reason_encode

# The most characters of a provider's own words a stored reason keeps: with the rest of the
# reason it stays within the `MAX_TEXT` a result's message is cut to, so it is never cut
# inside its encoding.
MAX_SAID = 500


@dataclass(frozen=True)
class Content:
    """A message rendered for one recipient: the fields a provider sends."""

    title: str = ""
    body: str = ""
    deeplink: str = ""
    file_uuid: str = ""
    avatar_url: str = ""

    def as_dict(self) -> dict[str, str]:
        """The non-empty fields, as stored on a delivery."""
        fields = {
            "title": self.title,
            "body": self.body,
            "deeplink": self.deeplink,
            "file_uuid": self.file_uuid,
            "avatar_url": self.avatar_url,
        }
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class OutboundMessage:
    """One delivery ready to go: its id, the recipient's address on the channel, the content."""

    delivery_id: int
    address: str
    content: Content


class ResultStatus(StrEnum):
    """What became of one message."""

    SENT = "sent"
    # Permanent: the provider refused this message; `code` and `message` say why.
    FAILED = "failed"
    # Transient: the request did not go through; `retry_at` is set when the provider named a time.
    RETRY = "retry"
    # The request may have arrived but no answer came: never resent automatically.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    """The outcome for one delivery. `response` is a small JSON-safe summary, never a secret."""

    delivery_id: int
    status: ResultStatus
    code: str = ""
    message: str = ""
    retry_at: datetime | None = None
    response: dict | None = None


@dataclass(frozen=True)
class QuotaInfo:
    """A provider's own count of the quota, read from its answer's headers."""

    limit: int | None
    remaining: int | None
    resets_at: datetime | None


@dataclass(frozen=True)
class BatchOutcome:
    """What one request achieved: a result per message (in order) and what the limiter must know.

    `hold_until` is set when the provider said to stop sending until a time (420/429/503 or a rate
    limit header); `quota` carries the provider's own quota count when it reports one.
    `whole_request` is true when one answer decided every message (a status, an error for the
    whole call) and that answer is not about a recipient (Yandex Market's 404 says one chat is
    gone): the circuit breaker counts such refusals, never a recipient's own.
    """

    results: list[SendResult]
    hold_until: datetime | None = None
    quota: QuotaInfo | None = None
    whole_request: bool = False


def merge(
    group: Sequence[OutboundMessage],
    refused: Mapping[int, SendResult],
    outcome: BatchOutcome | None,
) -> BatchOutcome:
    """Put results back in the group's order: `refused` (by index) were never sent, `outcome`
    holds the results of the others, in order."""
    sent = iter(outcome.results if outcome else [])
    results = [refused[index] if index in refused else next(sent) for index in range(len(group))]
    return BatchOutcome(
        results=results,
        hold_until=outcome.hold_until if outcome else None,
        quota=outcome.quota if outcome else None,
        whole_request=outcome.whole_request if outcome else False,
    )


def stated(reason: str, *said: Any, otherwise: str = "") -> str:
    """Our stored `reason`, then what the provider said (its non-empty `said` parts, joined as
    it gave them and cut to `MAX_SAID`), for a result's message or a configuration error.

    Where the provider said nothing, `otherwise` (a stored reason) stands for its words, or,
    when empty, the reason stands alone.
    """
    words = ": ".join(str(part) for part in said if part not in (None, ""))[:MAX_SAID] or otherwise
    return reason_encode("said", reason=reason, said=words) if words else reason
