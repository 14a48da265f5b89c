"""Bitrix24 app pushes (`pull.application.push.add`) sent by an OAuth 2.0 application.

Wire format (CONTRACTS.md, "Bitrix24"): `POST https://{portal}/rest/pull.application.push.add.json`
with `USER_ID` (an array of ints), `TEXT`, `AVATAR` and the access token as `auth`, all in the JSON
body so the token never appears in a URL. Recipients whose text and avatar differ go out as one
`batch.json` request of up to 50 calls: the portal's leaky bucket (2 requests a second drained,
50 burst) counts a batch as one request. The calls and the batch are built in `pushes`; here
they are sent, and each answer read: errors per call inside a batch, REST-wide error codes with
a hint for staff each.

Access tokens live an hour and every refresh hands out a new refresh token, so tokens live
behind a `TokenStore` (`tokens`). When a call answers `expired_token`, the provider refreshes
under the store's lock and repeats the call once; a worker that finds the token already
refreshed by another simply uses the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy, ngettext_lazy

from notifications.reasons import reason_encode

from ..base import Provider
from ..exceptions import ProviderConfigurationError
from ..facts import AddressKind, ContentNeed
from ..http import Answer, TransportFailure, utcnow
from ..limits import Limits, Permit, unlimited
from ..settings import http_timeout, required_setting, url_setting
from ..values import (
    MAX_SAID,
    BatchOutcome,
    OutboundMessage,
    ResultStatus,
    SendResult,
    merge,
    stated,
)
from ..verdicts import NOT_THE_API, Verdict, verdict_for_status
from .oauth import DEFAULT_OAUTH_URL, OAuthServer, portal_url
from .pushes import MAX_BATCH_COMMANDS, Push, push_request, pushes_of, same_pushes
from .tokens import (
    NOT_CONNECTED,
    NOT_CONNECTED_STORED,
    DatabaseTokenStore,
    Tokens,
    TokenStore,
    bitrix24_portal,
)

# What an `error` code means (pull.application.push.add's own codes, then the REST-wide ones).
ERROR_VERDICTS: dict[str, Verdict] = {
    "TEXT_ERROR": Verdict.FAILED,
    "EMPTY_APP_NAME": Verdict.FAILED,
    "ACCESS_ERROR": Verdict.FAILED,
    "WRONG_AUTH_TYPE": Verdict.CONFIGURATION,
    "expired_token": Verdict.REFRESH,
    "NO_AUTH_FOUND": Verdict.CONFIGURATION,
    "QUERY_LIMIT_EXCEEDED": Verdict.HOLD,
    "OPERATION_TIME_LIMIT": Verdict.HOLD,
    "INTERNAL_SERVER_ERROR": Verdict.RETRY,
    "ERROR_UNEXPECTED_ANSWER": Verdict.RETRY,
    "insufficient_scope": Verdict.CONFIGURATION,
    "user_access_error": Verdict.CONFIGURATION,
    "ACCESS_DENIED": Verdict.CONFIGURATION,
    "OVERLOAD_LIMIT": Verdict.CONFIGURATION,  # a manual block: only Bitrix24 support lifts it
    "PORTAL_DELETED": Verdict.CONFIGURATION,
    "ERROR_METHOD_NOT_FOUND": Verdict.CONFIGURATION,
}
# For an answer without a known `error`. Unlisted: 3xx, 404 (the portal's own answer to an
# unknown method or path) and 405 are configuration errors, 5xx retry, other statuses failed.
STATUS_VERDICTS: dict[int, Verdict] = {
    401: Verdict.CONFIGURATION,
    403: Verdict.CONFIGURATION,
    429: Verdict.HOLD,
    503: Verdict.HOLD,
}

# What staff must do about each configuration error, as a stored reason's code; the rest get
# the code and description.
CONFIGURATION_HINTS: dict[str, str] = {
    "WRONG_AUTH_TYPE": "bitrix24_wrong_auth_type",
    "NO_AUTH_FOUND": "bitrix24_no_auth_found",
    "insufficient_scope": "bitrix24_insufficient_scope",
    "ERROR_METHOD_NOT_FOUND": "bitrix24_no_such_method",
}
# For a configuration error without a hint of its own.
DEFAULT_HINT = "bitrix24_needs_attention"

# ASSUMED: how long to hold the portal after OPERATION_TIME_LIMIT when the answer carries no
# `time.operating_reset_at`. Bitrix24 counts a method's run time over 10 minutes and releases
# it gradually.
OPERATION_TIME_LIMIT_HOLD = timedelta(seconds=60)

# Cloud portals; Enterprise portals drain 5 a second with a burst of 250 (BITRIX24_RATE/_BURST).
DEFAULT_LIMITS = Limits(batch_size=50, rate="2/s", burst=50)


class Bitrix24Provider(Provider):
    """Sends Bitrix24 app pushes: one call for one text, a `batch.json` for several texts."""

    channel = "bitrix24"
    settings_prefix = "BITRIX24"
    default_limits = DEFAULT_LIMITS
    max_batch_size = MAX_BATCH_COMMANDS
    calls_per_send = 3
    content_fields = ("body", "avatar_url")
    content_needs = (ContentNeed(("body",), "bitrix24_needs_text"),)
    # No `max_text_length`: the document says only "TEXT | Произвольный текст." and gives no
    # length.
    address_kind = AddressKind("bitrix24_user_id", numeric=True)
    vendor = "Bitrix24"
    messages_noun = gettext_lazy("Bitrix24 pushes")
    messages_counted = ngettext_lazy(
        "%(number)s Bitrix24 push", "%(number)s Bitrix24 pushes", "count"
    )

    def __init__(
        self,
        *,
        portal_url: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        oauth_url: str = DEFAULT_OAUTH_URL,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            account=urlsplit(portal_url).hostname or "", secrets=[client_secret], **kwargs
        )
        self.portal_url = portal_url.rstrip("/")
        self.token_store = token_store
        self._oauth = OAuthServer(
            oauth_url=oauth_url, client_id=client_id, client_secret=client_secret, http=self.http
        )

    @classmethod
    def read_settings(cls) -> dict[str, Any]:
        return {
            "portal_url": portal_url(),
            "client_id": required_setting("BITRIX24_CLIENT_ID"),
            "client_secret": required_setting("BITRIX24_CLIENT_SECRET"),
            "oauth_url": url_setting("BITRIX24_OAUTH_URL", DEFAULT_OAUTH_URL),
        }

    @classmethod
    def from_settings(cls, *, token_store: TokenStore | None = None) -> Bitrix24Provider:
        values = cls.read_settings()
        if token_store is None:
            raise ValueError("Bitrix24 needs a token_store: its OAuth tokens rotate")
        return cls(
            **values,
            token_store=token_store,
            limits=cls.limits_from_settings(),
            timeout=http_timeout(),
        )

    @classmethod
    def token_store_from_settings(cls) -> DatabaseTokenStore:
        return DatabaseTokenStore(bitrix24_portal())

    @classmethod
    def connection_problem(cls, token_store: TokenStore) -> str:
        return "" if token_store.get() else str(NOT_CONNECTED)

    def plan(self, messages: Sequence[OutboundMessage]) -> list[list[OutboundMessage]]:
        """Messages ordered so identical pushes sit together, then cut into requests.

        A group whose pushes are all identical is one plain call; any other is one batch.json
        (a group of at most 50 messages never needs more than its 50 calls).
        """
        ordered = [message for same in same_pushes(messages).values() for message in same]
        size = self.limits.batch_size
        return [ordered[start : start + size] for start in range(0, len(ordered), size)]

    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        refused, sendable = self.split_refused(group)
        if not sendable:
            return merge(group, refused, None)
        pushes = pushes_of(sendable)
        if len(pushes) > MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch.json carries at most {MAX_BATCH_COMMANDS} calls")
        tokens = self.token_store.get()
        if tokens is None:
            raise ProviderConfigurationError(NOT_CONNECTED_STORED)
        self.http.remember_secrets(tokens.access_token, tokens.refresh_token)
        try:
            answer = self._post(pushes, tokens.access_token)
            if self._error_code(answer) == "expired_token":
                tokens = self._refreshed(tokens.access_token)
                # The portal's bucket counts every request, the refused one and this repeat
                # alike (the refresh goes to the OAuth server, which the bucket does not count).
                permit()
                answer = self._post(pushes, tokens.access_token)
        except TransportFailure as failure:
            return merge(group, refused, self.transport_outcome(sendable, failure))
        return merge(group, refused, self._read(pushes, sendable, answer))

    def _refreshed(self, expired_access_token: str) -> Tokens:
        try:
            tokens = self.token_store.refresh(expired_access_token, self._oauth.refresh)
        except TransportFailure as failure:
            # The push itself was refused with expired_token, so nothing went out: retry.
            raise TransportFailure(
                ResultStatus.RETRY,
                "refresh_failed",
                reason_encode("bitrix24_refresh_failed", reason=failure.message),
            ) from None
        self.http.remember_secrets(tokens.access_token, tokens.refresh_token)
        return tokens

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for a message Bitrix24 would refuse anyway, so it is not sent."""
        if refused := self.address_refusal(message):
            return refused
        if unmet := self.unmet_needs(message.content):
            return self.result(
                message, ResultStatus.FAILED, code="TEXT_ERROR", text=unmet[0].refusal
            )
        return None

    def _post(self, pushes: Sequence[Push], access_token: str) -> Answer:
        method, body = push_request(pushes, access_token)
        return self.http.request("POST", f"{self.portal_url}/rest/{method}.json", json=body)

    @staticmethod
    def _error_code(answer: Answer) -> str:
        body = answer.body if isinstance(answer.body, dict) else {}
        return str(body.get("error") or "")

    def _read(
        self, pushes: Sequence[Push], messages: Sequence[OutboundMessage], answer: Answer
    ) -> BatchOutcome:
        body = answer.body if isinstance(answer.body, dict) else {}
        error = self._error_code(answer)
        if error or not answer.ok:
            return self._refused_whole(messages, answer, error)
        if len(pushes) == 1:
            if "result" not in body:
                return self._unreadable(messages, answer)
            return self._call_outcome(messages, body.get("result"), answer)
        batch = body.get("result")
        if not isinstance(batch, dict):
            return self._unreadable(messages, answer)
        values, errors = _as_mapping(batch.get("result")), _as_mapping(batch.get("result_error"))
        results: list[SendResult] = []
        holds: list[datetime] = []
        for push in pushes:
            if isinstance(errors.get(push.key), dict):
                outcome = self._call_error(push.messages, answer, errors[push.key])
            elif push.key in values:
                outcome = self._call_outcome(push.messages, values[push.key], answer)
            else:
                outcome = self.conclude(
                    push.messages,
                    Verdict.UNKNOWN,
                    code="missing_call_result",
                    text=reason_encode("bitrix24_no_call_result"),
                    answer=answer,
                )
            results.extend(outcome.results)
            holds.extend([outcome.hold_until] if outcome.hold_until else [])
        by_delivery = {result.delivery_id: result for result in results}
        return BatchOutcome(
            results=[by_delivery[message.delivery_id] for message in messages],
            hold_until=max(holds, default=None),
        )

    def _call_outcome(
        self, messages: Sequence[OutboundMessage], value: Any, answer: Answer
    ) -> BatchOutcome:
        if value is True:
            return self.conclude(messages, Verdict.SENT, answer=answer)
        return self.conclude(
            messages,
            Verdict.FAILED,
            code="not_sent",
            text=reason_encode("bitrix24_not_true", value=repr(value)),
            answer=answer,
        )

    def _call_error(
        self, messages: Sequence[OutboundMessage], answer: Answer, error: Mapping[str, Any]
    ) -> BatchOutcome:
        """One batch call's own error: its code decides (a call has no HTTP status)."""
        code = str(error.get("error") or "error")
        description = str(error.get("error_description") or "")
        verdict = ERROR_VERDICTS.get(code, Verdict.FAILED)
        return self._error_outcome(messages, answer, verdict, code, description)

    def _refused_whole(
        self, messages: Sequence[OutboundMessage], answer: Answer, error: str
    ) -> BatchOutcome:
        body = answer.body if isinstance(answer.body, dict) else {}
        description = str(body.get("error_description") or "")
        verdict = ERROR_VERDICTS.get(error) or verdict_for_status(
            answer.status_code, STATUS_VERDICTS
        )
        # Without an error code of its own, a status that says the URL is not the API's (the
        # portal's 404 page for an unknown method or path) gets the portal URL's hint.
        hint = (
            CONFIGURATION_HINTS["ERROR_METHOD_NOT_FOUND"]
            if not error and answer.status_code in NOT_THE_API
            else None
        )
        return self._error_outcome(
            messages, answer, verdict, error or f"http_{answer.status_code}", description, hint
        )

    def _error_outcome(
        self,
        messages: Sequence[OutboundMessage],
        answer: Answer,
        verdict: Verdict,
        code: str,
        description: str,
        hint: str | None = None,
    ) -> BatchOutcome:
        """The outcome of an error, or the ProviderConfigurationError to raise, with `hint` (a
        reason's code; else the error code's own from CONFIGURATION_HINTS) saying what staff
        must do."""
        if verdict is Verdict.CONFIGURATION:
            hint = hint or CONFIGURATION_HINTS.get(code, DEFAULT_HINT)
            said = {"said": description[:MAX_SAID]} if description else {}
            refused = "bitrix24_answered_hint_said" if said else "bitrix24_answered_hint"
            raise self.configuration_error(
                reason_encode(refused, error=code, hint=reason_encode(hint), **said), answer
            )
        text = stated(reason_encode("bitrix24_answered", error=code), description)
        if verdict is Verdict.REFRESH:
            text = reason_encode("bitrix24_still_expired", error=code)
        return self.conclude(
            messages,
            verdict,
            code=code,
            text=text,
            answer=answer,
            hold_hint=self._hold_hint(code, answer) if verdict is Verdict.HOLD else None,
        )

    @staticmethod
    def _hold_hint(code: str, answer: Answer) -> datetime | None:
        """When a blocked method is free again: `time.operating_reset_at` if still ahead."""
        if code != "OPERATION_TIME_LIMIT":
            return None
        body = answer.body if isinstance(answer.body, dict) else {}
        timing = body.get("time") if isinstance(body.get("time"), dict) else {}
        reset = timing.get("operating_reset_at")
        if isinstance(reset, int | float) and reset > utcnow().timestamp():
            return datetime.fromtimestamp(reset, UTC)
        return answer.retry_after() or utcnow() + OPERATION_TIME_LIMIT_HOLD

    def _unreadable(self, messages: Sequence[OutboundMessage], answer: Answer) -> BatchOutcome:
        return self.conclude(
            messages,
            Verdict.UNKNOWN,
            code="unreadable_answer",
            text=reason_encode("bitrix24_unreadable", status=answer.status_code),
            answer=answer,
        )


def _as_mapping(value: Any) -> Mapping[str, Any]:
    # PHP encodes an empty array as `[]`, so an empty result or result_error arrives as a list.
    return value if isinstance(value, dict) else {}
