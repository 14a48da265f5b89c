"""Imshop push notifications: one title, text and deeplink to up to 1000 app users per request.

Wire format (CONTRACTS.md, "Imshop push"): `POST {IMSHOP_PUSH_URL}` with `Authorization: Bearer
<IMSHOP_API_KEY>` and `{"userIds": [...], "message": {"title", "summary"}, "deeplink"?}`. The answer
is one boolean for the whole request; there is no per-user result. Imshop allows 10 requests a
minute and says the API is for personal pushes, so recipients whose rendered push is identical
share a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from .base import Provider
from .facts import AddressKind, ContentNeed
from .http import Answer, TransportFailure
from .limits import Limits, Permit, unlimited
from .settings import required_setting, url_setting
from .values import (
    BatchOutcome,
    Content,
    OutboundMessage,
    ResultStatus,
    SendResult,
    error_text,
    merge,
)
from .verdicts import Verdict, verdict_for_status

# What an HTTP status means for every user of the request. Unlisted: 3xx, 404 and 405 mean
# IMSHOP_PUSH_URL is not the one the manager gave (configuration), 5xx retry, other 4xx failed.
STATUS_VERDICTS: dict[int, Verdict] = {
    400: Verdict.FAILED,  # documented: a validation failure, `message` names the field
    401: Verdict.CONFIGURATION,
    403: Verdict.CONFIGURATION,
    429: Verdict.HOLD,
    503: Verdict.HOLD,
}

# What `{"success": false, "error": ...}` means, by the error text (lower case). Only "Integration
# is unavailable" is documented (transient). The others are ASSUMED: the HTTP reason phrases
# Imshop's gateway already uses in `error` ("Bad Request").
ERROR_VERDICTS: dict[str, Verdict] = {
    "integration is unavailable": Verdict.RETRY,
    "bad request": Verdict.FAILED,
    "unauthorized": Verdict.CONFIGURATION,
    "forbidden": Verdict.CONFIGURATION,
}
# ASSUMED: an undocumented `error` is transient, so one blip never fails a whole campaign; the
# dispatch engine's attempt limit ends an error that persists.
UNLISTED_ERROR_VERDICT = Verdict.RETRY

DEFAULT_LIMITS = Limits(batch_size=1000, rate="10/m")


def _push_key(content: Content) -> tuple[str, str, str]:
    return (content.title, content.body, content.deeplink)


class ImshopProvider(Provider):
    """Sends Imshop pushes; messages with the same title, text and deeplink share a request."""

    channel = "imshop"
    settings_prefix = "IMSHOP"
    default_limits = DEFAULT_LIMITS
    max_batch_size = 1000
    one_text_per_request = True
    content_fields = ("title", "body", "deeplink")
    content_needs = (
        ContentNeed(("title",), gettext_lazy("Imshop pushes need a title.")),
        ContentNeed(("body",), gettext_lazy("Imshop pushes need a text.")),
    )
    # No `max_text_length`: the document gives "title - заголовок уведомления" and "summary -
    # текст уведомления" and no length for either.
    address_kind = AddressKind(gettext_lazy("Imshop user id"), numeric=False)
    external_id_is_default_address = True
    vendor = "Imshop"
    messages_noun = gettext_lazy("Imshop pushes")
    messages_counted = ngettext_lazy("%(number)s Imshop push", "%(number)s Imshop pushes", "count")

    def __init__(self, *, push_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(account=urlsplit(push_url).hostname or "", secrets=[api_key], **kwargs)
        self.push_url = push_url
        self._api_key = api_key

    @classmethod
    def read_settings(cls) -> dict[str, Any]:
        return {
            "push_url": url_setting("IMSHOP_PUSH_URL"),
            "api_key": required_setting("IMSHOP_API_KEY"),
        }

    def plan(self, messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
        """Group identical pushes (first appearance first), then cut each into requests."""
        by_push: dict[tuple[str, str, str], list[OutboundMessage]] = {}
        for message in messages:
            by_push.setdefault(_push_key(message.content), []).append(message)
        size = self.limits.batch_size
        return [
            same[start : start + size]
            for same in by_push.values()
            for start in range(0, len(same), size)
        ]

    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        refused, sendable = self.split_refused(group)
        if len({_push_key(message.content) for message in group}) > 1:
            raise ValueError("an Imshop request carries one push: the group's contents differ")
        if not sendable:
            return merge(group, refused, None)
        content = sendable[0].content
        payload: dict[str, Any] = {
            "userIds": [message.address for message in sendable],
            "message": {"title": content.title, "summary": content.body},
        }
        if content.deeplink:
            payload["deeplink"] = content.deeplink
        try:
            answer = self.http.request(
                "POST",
                self.push_url,
                json=payload,
                headers={"Authorization": f"Bearer {self._api_key}"},
            )
        except TransportFailure as failure:
            return merge(group, refused, self.transport_outcome(sendable, failure))
        return merge(group, refused, self._read(sendable, answer))

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for a message Imshop would refuse anyway, so it is not sent."""
        if refused := self.address_refusal(message):
            return refused
        if self.unmet_needs(message.content):
            return self.result(
                message,
                ResultStatus.FAILED,
                code="invalid_content",
                text=gettext("Imshop pushes need a title and a text."),
            )
        return None

    def _read(self, messages: Sequence[OutboundMessage], answer: Answer) -> BatchOutcome:
        body = answer.body if isinstance(answer.body, dict) else {}
        error = str(body.get("error") or "")
        detail = str(body.get("message") or "")
        if not answer.ok:
            verdict = verdict_for_status(answer.status_code, STATUS_VERDICTS)
            code = error or f"http_{answer.status_code}"
            text = error_text(
                gettext("Imshop answered HTTP %(status)s") % {"status": answer.status_code},
                error,
                detail,
            )
            if verdict is Verdict.CONFIGURATION:
                text = error_text(
                    gettext(
                        "Imshop refused the request (HTTP %(status)s); check "
                        "IMSHOP_PUSH_URL and IMSHOP_API_KEY"
                    )
                    % {"status": answer.status_code},
                    error,
                    detail,
                )
            return self.conclude(messages, verdict, code=code, text=text, answer=answer)
        if body.get("success") is True:
            return self.conclude(messages, Verdict.SENT, answer=answer)
        if body.get("success") is False:
            verdict = ERROR_VERDICTS.get(error.strip().lower(), UNLISTED_ERROR_VERDICT)
            text = error_text(
                gettext("Imshop did not send the push"), error or gettext("no reason given"), detail
            )
            if verdict is Verdict.CONFIGURATION:
                text = error_text(text, gettext("check IMSHOP_PUSH_URL and IMSHOP_API_KEY"))
            return self.conclude(
                messages, verdict, code=error or "success_false", text=text, answer=answer
            )
        # Accepted (2xx) but the outcome, carried only in the body, cannot be read.
        return self.conclude(
            messages,
            Verdict.UNKNOWN,
            code="unreadable_answer",
            text=gettext(
                "Imshop accepted the request (HTTP %(status)s) but its answer has no "
                "`success` flag; the push may have been delivered."
            )
            % {"status": answer.status_code},
            answer=answer,
        )
