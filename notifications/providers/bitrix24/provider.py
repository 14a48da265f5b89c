"""Bitrix24 app pushes (`pull.application.push.add`) sent by an OAuth 2.0 application.

Wire format (CONTRACTS.md, "Bitrix24"): `POST https://{portal}/rest/pull.application.push.add.json`
with `USER_ID` (an array of ints), `TEXT`, `AVATAR` and the access token as `auth`, all in the JSON
body so the token never appears in a URL. Recipients whose text and avatar differ go out as one
`batch.json` request of up to 50 calls: the portal's leaky bucket (2 requests a second drained,
50 burst) counts a batch as one request.

Access tokens live an hour and every refresh hands out a new refresh token, so tokens live
behind a `TokenStore` (`tokens`). When a call answers `expired_token`, the provider refreshes
under the store's lock and repeats the call once; a worker that finds the token already
refreshed by another simply uses the new one.

Over 400 lines because the protocol is: two request shapes (one call, or `batch.json`) with
different answers, errors per call inside a batch, REST-wide error codes with a hint for staff
each, and the refresh-and-repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from ..base import Provider
from ..exceptions import ProviderConfigurationError
from ..facts import AddressKind, ContentNeed
from ..http import Answer, TransportFailure, utcnow
from ..limits import Limits, Permit, unlimited
from ..settings import http_timeout, required_setting, url_setting
from ..values import BatchOutcome, OutboundMessage, ResultStatus, SendResult, error_text, merge
from ..verdicts import NOT_THE_API, Verdict, verdict_for_status
from .oauth import DEFAULT_OAUTH_URL, OAuthServer, portal_url
from .tokens import NOT_CONNECTED, DatabaseTokenStore, Tokens, TokenStore, bitrix24_portal

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

NO_SUCH_METHOD = gettext_lazy(
    "the portal has no such REST method: check BITRIX24_PORTAL_URL (a portal is a host, such as "
    "https://yourcompany.bitrix24.ru; REST lives at its /rest/)"
)
# What staff must do about each configuration error; the rest get the code and description.
CONFIGURATION_HINTS: dict[str, str] = {
    "WRONG_AUTH_TYPE": gettext_lazy(
        "pushes can only be sent by an OAuth application, not a webhook: check "
        "BITRIX24_CLIENT_ID and BITRIX24_CLIENT_SECRET, then connect the app (Admin → Connect "
        "Bitrix24)"
    ),
    "NO_AUTH_FOUND": gettext_lazy(
        "the stored authorisation was not accepted; a person must connect the Bitrix24 app "
        "again (Admin → Connect Bitrix24)"
    ),
    "insufficient_scope": gettext_lazy(
        "the app needs the `pull` scope; a person must connect the Bitrix24 app again "
        "(Admin → Connect Bitrix24)"
    ),
    "ERROR_METHOD_NOT_FOUND": NO_SUCH_METHOD,
}
# For a configuration error without a hint of its own.
DEFAULT_HINT = gettext_lazy("the app or the portal needs a person's attention")

# ASSUMED: how long to hold the portal after OPERATION_TIME_LIMIT when the answer carries no
# `time.operating_reset_at`. Bitrix24 counts a method's run time over 10 minutes and releases
# it gradually.
OPERATION_TIME_LIMIT_HOLD = timedelta(seconds=60)

PUSH_METHOD = "pull.application.push.add"
MAX_BATCH_COMMANDS = 50
# Cloud portals; Enterprise portals drain 5 a second with a burst of 250 (BITRIX24_RATE/_BURST).
DEFAULT_LIMITS = Limits(batch_size=50, rate="2/s", burst=50)


@dataclass(frozen=True)
class _Push:
    """One `pull.application.push.add` call: one text and avatar for several users."""

    key: str
    text: str
    avatar: str
    messages: tuple[OutboundMessage, ...]

    @property
    def user_ids(self) -> list[int]:
        return [int(message.address) for message in self.messages]

    def params(self, access_token: str) -> dict[str, Any]:
        params: dict[str, Any] = {"USER_ID": self.user_ids, "TEXT": self.text}
        if self.avatar:
            params["AVATAR"] = self.avatar
        return {**params, "auth": access_token}

    def command(self) -> str:
        """The call as a `batch.json` command string (its values URL-encoded once)."""
        query = [f"USER_ID[]={user_id}" for user_id in self.user_ids]
        query.append(f"TEXT={quote(self.text, safe='')}")
        if self.avatar:
            query.append(f"AVATAR={quote(self.avatar, safe='')}")
        return f"{PUSH_METHOD}?{'&'.join(query)}"


def _push_key(message: OutboundMessage) -> tuple[str, str]:
    return (message.content.body, message.content.avatar_url)


class Bitrix24Provider(Provider):
    """Sends Bitrix24 app pushes: one call for one text, a `batch.json` for several texts."""

    channel = "bitrix24"
    settings_prefix = "BITRIX24"
    default_limits = DEFAULT_LIMITS
    max_batch_size = MAX_BATCH_COMMANDS
    calls_per_send = 3
    content_fields = ("body", "avatar_url")
    content_needs = (ContentNeed(("body",), gettext_lazy("Bitrix24 pushes need a text.")),)
    # No `max_text_length`: the document says only "TEXT | Произвольный текст." and gives no
    # length.
    address_kind = AddressKind(gettext_lazy("Bitrix24 USER_ID"), numeric=True)
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
        by_push: dict[tuple[str, str], list[OutboundMessage]] = {}
        for message in messages:
            by_push.setdefault(_push_key(message), []).append(message)
        ordered = [message for same in by_push.values() for message in same]
        size = self.limits.batch_size
        return [ordered[start : start + size] for start in range(0, len(ordered), size)]

    def send(self, group: Sequence[OutboundMessage], *, permit: Permit = unlimited) -> BatchOutcome:
        refused, sendable = self.split_refused(group)
        if not sendable:
            return merge(group, refused, None)
        pushes = self._pushes(sendable)
        if len(pushes) > MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch.json carries at most {MAX_BATCH_COMMANDS} calls")
        tokens = self.token_store.get()
        if tokens is None:
            raise ProviderConfigurationError(NOT_CONNECTED)
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
                gettext(
                    "The access token expired and could not be refreshed; nothing was sent. "
                    "%(reason)s"
                )
                % {"reason": failure.message},
            ) from None
        self.http.remember_secrets(tokens.access_token, tokens.refresh_token)
        return tokens

    def _refuse(self, message: OutboundMessage) -> SendResult | None:
        """A result for a message Bitrix24 would refuse anyway, so it is not sent."""
        if refused := self.address_refusal(message):
            return refused
        if unmet := self.unmet_needs(message.content):
            return self.result(
                message, ResultStatus.FAILED, code="TEXT_ERROR", text=unmet[0].sentence
            )
        return None

    @staticmethod
    def _pushes(messages: Sequence[OutboundMessage]) -> list[_Push]:
        by_push: dict[tuple[str, str], list[OutboundMessage]] = {}
        for message in messages:
            by_push.setdefault(_push_key(message), []).append(message)
        return [
            _Push(key=f"push_{number}", text=text, avatar=avatar, messages=tuple(same))
            for number, ((text, avatar), same) in enumerate(by_push.items())
        ]

    def _post(self, pushes: Sequence[_Push], access_token: str) -> Answer:
        if len(pushes) == 1:
            return self.http.request(
                "POST",
                f"{self.portal_url}/rest/{PUSH_METHOD}.json",
                json=pushes[0].params(access_token),
            )
        payload = {
            "halt": 0,
            "cmd": {push.key: push.command() for push in pushes},
            "auth": access_token,
        }
        return self.http.request("POST", f"{self.portal_url}/rest/batch.json", json=payload)

    @staticmethod
    def _error_code(answer: Answer) -> str:
        body = answer.body if isinstance(answer.body, dict) else {}
        return str(body.get("error") or "")

    def _read(
        self, pushes: Sequence[_Push], messages: Sequence[OutboundMessage], answer: Answer
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
                    text=gettext(
                        "Bitrix24's batch answer has no result for this call; the push may "
                        "have been delivered."
                    ),
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
            text=gettext("Bitrix24 answered result=%(value)s instead of true.")
            % {"value": repr(value)},
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
        hint = NO_SUCH_METHOD if not error and answer.status_code in NOT_THE_API else None
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
        """The outcome of an error, or the ProviderConfigurationError to raise, with `hint` (else
        the code's own from CONFIGURATION_HINTS) saying what staff must do."""
        if verdict is Verdict.CONFIGURATION:
            hint = hint or CONFIGURATION_HINTS.get(code, DEFAULT_HINT)
            raise self.configuration_error(
                error_text(
                    gettext("Bitrix24 answered %(code)s") % {"code": code},
                    f"{hint}. {description}".strip(),
                ),
                answer,
            )
        text = error_text(gettext("Bitrix24 answered %(code)s") % {"code": code}, description)
        if verdict is Verdict.REFRESH:
            text = gettext(
                "Bitrix24 still answered %(code)s after the token was refreshed; will retry."
            ) % {"code": code}
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
            text=gettext(
                "Bitrix24 accepted the request (HTTP %(status)s) but its answer "
                "cannot be read; the push may have been delivered."
            )
            % {"status": answer.status_code},
            answer=answer,
        )


def _as_mapping(value: Any) -> Mapping[str, Any]:
    # PHP encodes an empty array as `[]`, so an empty result or result_error arrives as a list.
    return value if isinstance(value, dict) else {}
