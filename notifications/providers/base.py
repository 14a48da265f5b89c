"""The provider backend: what every provider declares and the two operations the engine calls.

A provider turns a group of rendered messages into exactly one HTTP request and its answer into one
result per message. The dispatch engine asks `plan()` how to split a claimed batch into such
groups, takes one permit from the shared rate limiter per group, and calls `send()` for each.
The values, limits, errors, HTTP client, redaction, settings and verdicts it builds on live in
the sibling modules of this package.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from notifications.formats import number_text

from .exceptions import ProviderConfigurationError
from .facts import AddressKind, ContentNeed
from .http import MAX_TEXT, Answer, HttpClient, TransportFailure, utcnow
from .limits import Limits, Permit, parse_rate, unlimited
from .redaction import Redactor
from .settings import http_timeout, int_setting, setting
from .values import BatchOutcome, Content, OutboundMessage, QuotaInfo, ResultStatus, SendResult
from .verdicts import RESULT_OF_VERDICT, Verdict


class Provider(abc.ABC):
    """A provider backend: plans groups of messages and sends each group as one HTTP request.

    Subclasses declare `channel`, `settings_prefix`, `default_limits` and `max_batch_size`, read
    their settings in `read_settings()`, and implement `plan()` and `send()`. `account` names the
    provider account a rate limit applies to (a host or a business id, never a secret).
    """

    channel: ClassVar[str]
    settings_prefix: ClassVar[str]
    default_limits: ClassVar[Limits]
    max_batch_size: ClassVar[int]

    # The channel's facts, declared once for the whole product (see `facts`).
    # The content fields the provider sends; the others are neither rendered nor checked.
    content_fields: ClassVar[tuple[str, ...]]
    # What a message cannot go without.
    content_needs: ClassVar[tuple[ContentNeed, ...]]
    # The longest text (`body`) the vendor takes, in the unit of `text_length`; None when the
    # vendor sets no limit.
    max_text_length: ClassVar[int | None] = None
    address_kind: ClassVar[AddressKind]
    # True where a recipient without an address on the channel is addressed by their own
    # external_id (Imshop: the shop's user id is the id Vestnik imports).
    external_id_is_default_address: ClassVar[bool] = False
    # The vendor's name as staff read it in a sentence ("Yandex Market accepts at most ...").
    vendor: ClassVar[str]
    # What staff call the channel's messages, in the plural ("Yandex Market chats").
    messages_noun: ClassVar[str]
    # A number of the channel's messages as staff read it, in the language's plural forms: an
    # ngettext_lazy keyed on "count" whose text shows "%(number)s" (see `messages_text`).
    messages_counted: ClassVar[Any]
    # True where one request carries one text for all its recipients (Imshop): messages share a
    # request only when they render the same, so personalisation multiplies requests.
    one_text_per_request: ClassVar[bool] = False
    # The most HTTP calls one send() may make: Bitrix24's call refused for an expired token,
    # the refresh, and the repeat. The engine holds rows and slots that long.
    calls_per_send: ClassVar[int] = 1

    def __init__(
        self,
        *,
        account: str,
        secrets: Iterable[str],
        limits: Limits | None = None,
        timeout: tuple[float, float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.account = account
        self.limits = limits or self.default_limits
        if self.limits.batch_size > self.max_batch_size:
            raise ValueError(f"{self.channel} sends at most {self.max_batch_size} per request")
        self.redactor = Redactor()
        self.http = HttpClient(
            channel=self.channel, redactor=self.redactor, timeout=timeout, session=session
        )
        self.http.remember_secrets(*secrets)

    # Building from settings.

    @classmethod
    @abc.abstractmethod
    def read_settings(cls) -> dict[str, Any]:
        """The constructor's provider-specific arguments, read from settings and checked."""

    @classmethod
    def limits_from_settings(cls) -> Limits:
        """The default limits with `<PREFIX>_RATE`, `_BURST`, `_PARALLEL`, `_BATCH_SIZE` applied.

        The batch size is a setting only where a request can carry more than one message, and it
        can never exceed what the provider accepts.
        """
        prefix, default = cls.settings_prefix, cls.default_limits
        rate_name = f"{prefix}_RATE"
        rate = str(setting(rate_name, default.rate)).strip() or default.rate
        try:
            parse_rate(rate)
        except ValueError as error:
            raise ProviderConfigurationError(f"{rate_name}: {error}") from None
        batch_size = default.batch_size
        if cls.max_batch_size > 1:
            batch_size = int_setting(f"{prefix}_BATCH_SIZE", batch_size, cls.max_batch_size)
        return Limits(
            batch_size=batch_size,
            rate=rate,
            burst=int_setting(f"{prefix}_BURST", default.burst),
            parallel=int_setting(f"{prefix}_PARALLEL", default.parallel),
            quota_window=default.quota_window,
        )

    @classmethod
    def from_settings(cls, *, token_store: Any = None) -> Provider:
        """A provider built from settings; ProviderConfigurationError names what is missing."""
        return cls(**cls.read_settings(), limits=cls.limits_from_settings(), timeout=http_timeout())

    @classmethod
    def token_store_from_settings(cls) -> Any:
        """Where the provider keeps credentials that rotate as it sends, for `from_settings`;
        None where its settings hold every credential (all but Bitrix24, whose OAuth tokens
        live in the database)."""
        return None

    @classmethod
    def connection_problem(cls, token_store: Any) -> str:
        """Why the provider cannot send with `token_store` although its settings are complete
        (an app never connected), or "" when it can."""
        return ""

    # The two operations the dispatch engine calls.

    @abc.abstractmethod
    def plan(self, messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
        """Split messages into groups that each go out as exactly one request."""

    @abc.abstractmethod
    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        """Send one group planned by `plan()` as one request; one result per message, in order.

        The caller took the rate limiter's permit for that request. A provider that must make
        another request to the account within the same send (Bitrix24 repeats a call after a
        token refresh, and its portal counts both) calls `permit()` first; NoPermit from it
        goes through to the caller.

        Raises ValueError for a group that is larger than declared or cannot be one request, and
        ProviderConfigurationError when the call failed for configuration reasons.
        """

    # Helpers for the provider modules.

    def check_size(self, group: Sequence[OutboundMessage]) -> None:
        if len(group) > self.limits.batch_size:
            raise ValueError(
                f"{self.channel} sends at most {self.limits.batch_size} messages per request, "
                f"this group has {len(group)}"
            )

    def split_refused(
        self, group: Sequence[OutboundMessage]
    ) -> tuple[dict[int, SendResult], list[OutboundMessage]]:
        """Check the group's size and set aside, by position, the messages `_refuse` turns down
        (they get their result without a request); returns those and the rest, in order."""
        self.check_size(group)
        refused = {
            index: result
            for index, message in enumerate(group)
            if (result := self._refuse(message)) is not None
        }
        return refused, [message for index, message in enumerate(group) if index not in refused]

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for a message the provider would refuse anyway, or None to send it."""
        return None

    def address_refusal(self, message: OutboundMessage) -> SendResult | None:
        """A failed result for a message whose address the channel cannot take, else None."""
        if problem := self.address_kind.problem(message.address):
            return self.result(message, ResultStatus.FAILED, code="invalid_address", text=problem)
        return None

    @classmethod
    def unmet_needs(cls, content: Content) -> list[ContentNeed]:
        """The declared `content_needs` that `content` leaves unmet, in declared order."""
        present = set(content.as_dict())
        return [need for need in cls.content_needs if not need.met_by(present)]

    @classmethod
    def messages_text(cls, count: int) -> str:
        """`count` of the channel's messages: "1 Yandex Market chat", "48,000 Yandex Market
        chats"."""
        return cls.messages_counted % {"count": count, "number": number_text(count)}

    @classmethod
    def text_length(cls, text: str) -> int:
        """How long `text` is as the vendor counts it against `max_text_length`.

        Characters, meaning Unicode code points, never bytes: "привет" is 6 and "🚀" is 1, while a
        family emoji, one picture on screen, is the several code points it is built from. A
        provider whose vendor counts otherwise (UTF-16 units, say) overrides this.
        """
        return len(text)

    @classmethod
    def text_too_long(cls, text: str) -> bool:
        """Whether `text` is longer than the declared `max_text_length`."""
        return cls.max_text_length is not None and cls.text_length(text) > cls.max_text_length

    def result(
        self,
        message: OutboundMessage,
        status: ResultStatus,
        *,
        code: str = "",
        text: str = "",
        retry_at: datetime | None = None,
        response: dict | None = None,
    ) -> SendResult:
        return SendResult(
            delivery_id=message.delivery_id,
            status=status,
            code=self.redactor(code),
            message=self.redactor(text)[:MAX_TEXT],
            retry_at=retry_at,
            response=self.redactor.value(response),
        )

    def configuration_error(
        self, message: str, answer: Answer | None = None
    ) -> ProviderConfigurationError:
        return ProviderConfigurationError(
            self.redactor(message),
            status_code=answer.status_code if answer else None,
            response_text=answer.text[:MAX_TEXT] if answer else "",
        )

    def conclude(
        self,
        messages: Sequence[OutboundMessage],
        verdict: Verdict,
        *,
        code: str = "",
        text: str = "",
        answer: Answer | None = None,
        hold_hint: datetime | None = None,
        quota: QuotaInfo | None = None,
        about_recipient: bool = False,
    ) -> BatchOutcome:
        """One verdict for every message of a request, as a BatchOutcome (or the error to raise).

        `about_recipient`: the answer concerns the one recipient of the request, not the
        request (see `BatchOutcome.whole_request`).
        """
        if verdict is Verdict.CONFIGURATION:
            raise self.configuration_error(text, answer)
        retry_at = hold = None
        if verdict is Verdict.HOLD:
            # The provider's time when it gave one; else hold for one period of the declared
            # rate (the window the provider counts in), and leave the retry time to backoff.
            retry_at = hold_hint or (answer.retry_after() if answer else None)
            hold = retry_at or utcnow() + timedelta(seconds=self.limits.rate_period)
        # One answer for the whole request: redacted once, shared by every result.
        status = RESULT_OF_VERDICT[verdict]
        code = "" if verdict is Verdict.SENT else self.redactor(code)
        text = "" if verdict is Verdict.SENT else self.redactor(text)[:MAX_TEXT]
        summary = self.redactor.value(answer.summary()) if answer else None
        results = [
            SendResult(message.delivery_id, status, code, text, retry_at, summary)
            for message in messages
        ]
        return BatchOutcome(
            results=results, hold_until=hold, quota=quota, whole_request=not about_recipient
        )

    def transport_outcome(
        self, messages: Sequence[OutboundMessage], failure: TransportFailure
    ) -> BatchOutcome:
        return BatchOutcome(
            results=[
                self.result(message, failure.status, code=failure.code, text=failure.message)
                for message in messages
            ]
        )
