"""Yandex Market buyer chats: one message to one chat per request, 1000 requests an hour.

Wire format (CONTRACTS.md, "Yandex Market"): `POST {YANDEX_MARKET_API_URL}/v2/businesses/
{YANDEX_MARKET_BUSINESS_ID}/chats/message?chatId={chatId}` with `Api-Key: <YANDEX_MARKET_API_KEY>`
and `{"message": text}`. Errors carry `{"status": "ERROR", "errors": [{"code", "message"}]}`.
Every answer reports the hourly quota in `X-RateLimit-Resource-Limit`, `-Remaining` and `-Until`
(an RFC 822 date); it is passed on as `BatchOutcome.quota`, and an exhausted quota holds the
business until `-Until`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from .base import Provider
from .exceptions import ProviderConfigurationError
from .facts import AddressKind, ContentNeed
from .http import Answer, TransportFailure, parse_http_date, utcnow
from .limits import Limits, Permit, unlimited
from .settings import required_setting, url_setting
from .values import (
    BatchOutcome,
    OutboundMessage,
    QuotaInfo,
    ResultStatus,
    SendResult,
    error_text,
    merge,
)
from .verdicts import NOT_THE_API, Verdict, verdict_for_status

DEFAULT_API_URL = "https://api.partner.market.yandex.ru"
# How long a 420 for too many parallel requests holds the business (quota still left).
PARALLEL_RETRY_SECONDS = 2

# What an HTTP status means for the message. Unlisted: 3xx and 405 mean YANDEX_MARKET_API_URL is
# not the API (configuration, `NOT_THE_API`), 5xx retry, other 4xx failed.
STATUS_VERDICTS: dict[int, Verdict] = {
    400: Verdict.FAILED,
    401: Verdict.CONFIGURATION,
    403: Verdict.CONFIGURATION,
    404: Verdict.FAILED,  # the chat is gone
    420: Verdict.HOLD,  # the hourly quota is used up: not the message's fault
    429: Verdict.HOLD,  # assumed to mean what 420 means; Yandex documents 420
    500: Verdict.RETRY,
}

# Answers about the one chat of a request, not about the request: never the circuit breaker's.
RECIPIENT_STATUSES = {404}

# Per business: 1000 requests an hour counted in a window that ends at X-RateLimit-Resource-Until,
# and at most 4 requests in flight.
DEFAULT_LIMITS = Limits(batch_size=1, rate="1000/h", parallel=4, quota_window=3600)


def read_quota(headers: Any) -> QuotaInfo | None:
    """The quota Yandex reports in an answer's X-RateLimit-Resource-* headers, or None."""

    def number(name: str) -> int | None:
        value = (headers.get(name) or "").strip()
        return int(value) if value.isdigit() else None

    quota = QuotaInfo(
        limit=number("X-RateLimit-Resource-Limit"),
        remaining=number("X-RateLimit-Resource-Remaining"),
        resets_at=parse_http_date(headers.get("X-RateLimit-Resource-Until")),
    )
    return None if quota == QuotaInfo(None, None, None) else quota


class YandexMarketProvider(Provider):
    """Sends one message to one Yandex Market buyer chat per request."""

    channel = "yandex_market"
    settings_prefix = "YANDEX_MARKET"
    default_limits = DEFAULT_LIMITS
    max_batch_size = 1
    content_fields = ("body",)
    content_needs = (ContentNeed(("body",), gettext_lazy("Yandex Market messages need a text.")),)
    # The document: "message* Type: string Текст сообщения. Min length: … Max length: …", an
    # OpenAPI maxLength, which counts characters (JSON Schema: "the number of its characters"),
    # not bytes; the wider documentation gives "1 to 4096 characters". `text_length` counts so.
    max_text_length = 4096
    address_kind = AddressKind(gettext_lazy("Yandex Market chatId"), numeric=True)
    vendor = "Yandex Market"
    messages_noun = gettext_lazy("Yandex Market chats")
    messages_counted = ngettext_lazy(
        "%(number)s Yandex Market chat", "%(number)s Yandex Market chats", "count"
    )

    def __init__(self, *, api_url: str, api_key: str, business_id: str, **kwargs: Any) -> None:
        super().__init__(account=business_id, secrets=[api_key], **kwargs)
        self.url = f"{api_url.rstrip('/')}/v2/businesses/{business_id}/chats/message"
        self._api_key = api_key

    @classmethod
    def read_settings(cls) -> dict[str, Any]:
        business_id = required_setting("YANDEX_MARKET_BUSINESS_ID")
        if not business_id.isdigit():
            raise ProviderConfigurationError(gettext("YANDEX_MARKET_BUSINESS_ID must be a number"))
        return {
            "api_url": url_setting("YANDEX_MARKET_API_URL", DEFAULT_API_URL),
            "api_key": required_setting("YANDEX_MARKET_API_KEY"),
            "business_id": business_id,
        }

    def plan(self, messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
        """One message per request: the method takes one chat."""
        return [[message] for message in messages]

    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        self.check_size(group)
        if not group:
            return BatchOutcome(results=[])
        message = group[0]
        refused = self._refuse(message)
        if refused is not None:
            return merge(group, {0: refused}, None)
        try:
            answer = self.http.request(
                "POST",
                self.url,
                params={"chatId": message.address.strip()},
                json={"message": message.content.body},
                headers={"Api-Key": self._api_key},
            )
        except TransportFailure as failure:
            return self.transport_outcome(group, failure)
        return self._read(group, answer)

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for a message Yandex would refuse anyway, so no request is spent on it."""
        if refused := self.address_refusal(message):
            return refused
        body = message.content.body
        if self.unmet_needs(message.content) or self.text_too_long(body):
            return self.result(
                message,
                ResultStatus.FAILED,
                code="invalid_content",
                text=gettext(
                    "%(vendor)s takes 1 to %(limit)s characters; this text has %(length)s."
                )
                % {
                    "vendor": self.vendor,
                    "limit": self.max_text_length,
                    "length": self.text_length(body),
                },
            )
        return None

    def _read(self, group: Sequence[OutboundMessage], answer: Answer) -> BatchOutcome:
        quota = read_quota(answer.headers)
        body = answer.body if isinstance(answer.body, dict) else {}
        errors = [error for error in body.get("errors") or [] if isinstance(error, dict)]
        code = str(errors[0].get("code") or "") if errors else ""
        described = "; ".join(
            error_text(error.get("code"), error.get("message")) for error in errors
        )
        if answer.ok and body.get("status") != "ERROR":
            # 200 alone means sent: Yandex documents "an empty answer means the message was sent".
            outcome = self.conclude(group, Verdict.SENT, answer=answer, quota=quota)
        elif answer.ok:
            outcome = self.conclude(
                group,
                Verdict.FAILED,
                code=code or "error",
                text=error_text(gettext("Yandex Market refused the message"), described),
                answer=answer,
                quota=quota,
            )
        else:
            verdict = verdict_for_status(answer.status_code, STATUS_VERDICTS)
            text = error_text(
                gettext("Yandex Market answered HTTP %(status)s") % {"status": answer.status_code},
                described,
            )
            if verdict is Verdict.CONFIGURATION and answer.status_code in NOT_THE_API:
                text = error_text(
                    gettext(
                        "Yandex Market has no such method at YANDEX_MARKET_API_URL "
                        "(HTTP %(status)s); check it"
                    )
                    % {"status": answer.status_code},
                    described,
                )
            elif verdict is Verdict.CONFIGURATION:
                text = error_text(
                    gettext(
                        "Yandex Market refused YANDEX_MARKET_API_KEY for business %(business)s "
                        "(HTTP %(status)s); check the key, its `communication` scope and "
                        "YANDEX_MARKET_BUSINESS_ID"
                    )
                    % {"business": self.account, "status": answer.status_code},
                    described,
                )
            outcome = self.conclude(
                group,
                verdict,
                code=code or f"http_{answer.status_code}",
                text=text,
                answer=answer,
                hold_hint=_hold_hint(answer.status_code, quota),
                quota=quota,
                about_recipient=answer.status_code in RECIPIENT_STATUSES,
            )
        if outcome.hold_until is None and quota and quota.remaining == 0 and quota.resets_at:
            # The quota is used up (failed requests count too): hold until Yandex resets it.
            return replace(outcome, hold_until=quota.resets_at)
        return outcome


def _hold_hint(status_code: int, quota: QuotaInfo | None) -> datetime | None:
    """Until when a refusal holds the business. A 420 with hourly quota left crossed the limit
    of parallel requests (another client of the same business, say): a short pause, not the
    rest of the hour."""
    if quota is None:
        return None
    if status_code == 420 and quota.remaining is not None and quota.remaining > 0:
        return utcnow() + timedelta(seconds=PARALLEL_RETRY_SECONDS)
    return quota.resets_at
