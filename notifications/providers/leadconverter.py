"""LeadConverter messenger bots: up to 100 subscribers per request, each with its own text.

Wire format (CONTRACTS.md, "LeadConverter"): `POST {LEADCONVERTER_API_URL}/{LEADCONVERTER_TOKEN}/
broadcasting.sendMessageBatch` with `{"batch": [{"subscriber_id": int, "text"?, "file_uuid"?}]}`.
The token is part of the URL path, so the URL is only ever logged redacted.

LeadConverter publishes neither its answers nor its rate limit. Everything this module assumes
about them is in the ASSUMED section right below, so it can be changed in one place once the
vendor documents it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from .base import Provider
from .facts import AddressKind, ContentNeed
from .http import Answer, TransportFailure
from .limits import Limits, Permit, unlimited
from .settings import required_setting, url_setting
from .values import BatchOutcome, OutboundMessage, ResultStatus, SendResult, error_text, merge
from .verdicts import NOT_THE_API, Verdict, verdict_for_status

DEFAULT_API_URL = "https://leadconverter.ru/api/v1"

# --- ASSUMED: LeadConverter's answers and limits (not published) ------------------------------

# 100 items per request is documented; 5 requests a second is our assumption.
DEFAULT_LIMITS = Limits(batch_size=100, rate="5/s")

# What an HTTP status means for every item of the batch. Unlisted: 3xx, 404 and 405 mean the URL
# leads to no such method (configuration), 5xx retry, other 4xx failed.
STATUS_VERDICTS: dict[int, Verdict] = {
    401: Verdict.CONFIGURATION,  # the token was refused
    403: Verdict.CONFIGURATION,
    429: Verdict.HOLD,
    503: Verdict.HOLD,
}


@dataclass(frozen=True)
class Interpretation:
    """What one LeadConverter answer means for every item of the batch."""

    verdict: Verdict
    code: str = ""
    text: str = ""


def interpret_answer(status_code: int, body: Any) -> Interpretation:
    """ASSUMED reading of a LeadConverter answer, for the whole batch (no per-item result known).

    - 2xx with a JSON body that carries no `error` and no `success: false`: every item accepted;
    - 2xx with a JSON `error` or `success: false`: the batch was refused (permanent);
    - 2xx without a JSON body: accepted, outcome unreadable (unknown: it may have been sent);
    - 401/403: the token was refused (configuration); 3xx, 404, 405 (`NOT_THE_API`): no such
      method at this URL (configuration: LEADCONVERTER_API_URL, or the token inside the path,
      is wrong);
      429/503: slow down; other 5xx: transient; other 4xx: the batch was refused (permanent).
    """
    fields = body if isinstance(body, dict) else {}
    error = fields.get("error")
    detail = fields.get("message") or fields.get("description") or fields.get("error_description")
    if isinstance(error, dict):
        detail = error.get("message") or detail
        error = error.get("code") or error.get("message")
    if not 200 <= status_code < 300:
        verdict = verdict_for_status(status_code, STATUS_VERDICTS)
        code = str(error or f"http_{status_code}")
        text = error_text(
            gettext("LeadConverter answered HTTP %(status)s") % {"status": status_code},
            error,
            detail,
        )
        if verdict is Verdict.CONFIGURATION and status_code in NOT_THE_API:
            text = gettext(
                "%(text)s; check LEADCONVERTER_API_URL and LEADCONVERTER_TOKEN (part of the path)"
            ) % {"text": text}
        elif verdict is Verdict.CONFIGURATION:
            text = gettext("%(text)s; check LEADCONVERTER_TOKEN") % {"text": text}
        return Interpretation(verdict, code, text)
    if body is None:
        return Interpretation(
            Verdict.UNKNOWN,
            "unreadable_answer",
            gettext(
                "LeadConverter accepted the batch (HTTP %(status)s) but its answer is not JSON; "
                "the messages may have been delivered."
            )
            % {"status": status_code},
        )
    if error or fields.get("success") is False:
        return Interpretation(
            Verdict.FAILED,
            str(error or "success_false"),
            error_text(
                gettext("LeadConverter refused the batch"),
                error or gettext("no reason given"),
                detail,
            ),
        )
    return Interpretation(Verdict.SENT)


# --- The provider -------------------------------------------------------------------------------


class LeadConverterProvider(Provider):
    """Sends LeadConverter batches: up to `batch_size` subscribers, each item with its own text."""

    channel = "leadconverter"
    settings_prefix = "LEADCONVERTER"
    default_limits = DEFAULT_LIMITS
    max_batch_size = 100
    content_fields = ("body", "file_uuid")
    content_needs = (
        ContentNeed(
            ("body", "file_uuid"),
            gettext_lazy("LeadConverter messages need a text, a file UUID, or both."),
        ),
    )
    # No `max_text_length`: the document says only "text | … Текст, который будет отправлен
    # подписчику" and limits the batch (100 items), not the text.
    address_kind = AddressKind(gettext_lazy("LeadConverter subscriber_id"), numeric=True)
    vendor = "LeadConverter"
    messages_noun = gettext_lazy("LeadConverter messages")
    messages_counted = ngettext_lazy(
        "%(number)s LeadConverter message", "%(number)s LeadConverter messages", "count"
    )

    def __init__(self, *, api_url: str, token: str, **kwargs: Any) -> None:
        super().__init__(account=urlsplit(api_url).hostname or "", secrets=[token], **kwargs)
        self.url = f"{api_url.rstrip('/')}/{quote(token, safe='')}/broadcasting.sendMessageBatch"

    @classmethod
    def read_settings(cls) -> dict[str, Any]:
        return {
            "api_url": url_setting("LEADCONVERTER_API_URL", DEFAULT_API_URL),
            "token": required_setting("LEADCONVERTER_TOKEN"),
        }

    def plan(self, messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
        """Consecutive chunks of `batch_size`: every item carries its own text."""
        size = self.limits.batch_size
        return [list(messages[start : start + size]) for start in range(0, len(messages), size)]

    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        refused, sendable = self.split_refused(group)
        if not sendable:
            return merge(group, refused, None)
        payload = {"batch": [self._item(message) for message in sendable]}
        try:
            answer = self.http.request("POST", self.url, json=payload)
        except TransportFailure as failure:
            return merge(group, refused, self.transport_outcome(sendable, failure))
        return merge(group, refused, self._read(sendable, answer))

    @staticmethod
    def _item(message: OutboundMessage) -> dict[str, Any]:
        item: dict[str, Any] = {"subscriber_id": int(message.address.strip())}
        if message.content.body:
            item["text"] = message.content.body
        if message.content.file_uuid:
            item["file_uuid"] = message.content.file_uuid
        return item

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for an item LeadConverter cannot take, so it stays out of the batch."""
        if refused := self.address_refusal(message):
            return refused
        if unmet := self.unmet_needs(message.content):
            return self.result(
                message, ResultStatus.FAILED, code="invalid_content", text=unmet[0].sentence
            )
        return None

    def _read(self, messages: Sequence[OutboundMessage], answer: Answer) -> BatchOutcome:
        meaning = interpret_answer(answer.status_code, answer.body)
        return self.conclude(
            messages, meaning.verdict, code=meaning.code, text=meaning.text, answer=answer
        )
