"""What every provider shares: the message and result values, limits, errors, and HTTP.

A provider turns a group of rendered messages into exactly one HTTP request and its answer into one
result per message. The dispatch engine asks `plan()` how to split a claimed batch into such
groups, takes one permit from the shared rate limiter per group, and calls `send()` for each.

This module owns HTTP for all four providers: one `requests.Session` per process, separate connect
and read timeouts, our User-Agent, no automatic retries and no redirects, and the translation of
transport errors into results. The line that matters is whether the request may have reached the
provider: a request that never left is safe to retry; one that may have arrived is `unknown`,
because no provider offers an idempotency key and a duplicate push is worse than a gap.

Secrets (API keys, tokens, the LeadConverter token inside its URL path, OAuth secrets) are removed
from every log line, exception text and stored answer by a `Redactor`.
"""

from __future__ import annotations

import abc
import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http.cookiejar import DefaultCookiePolicy
from importlib import metadata
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

logger = logging.getLogger(__name__)


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


# --- Values passed between the dispatch engine and a provider ---------------------------------


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


# --- Limits ---------------------------------------------------------------------------------------

RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Read a rate written as in Django REST framework ("10/m", "1000/h", "2/s").

    Returns (requests, period in seconds). The period's first letter counts, so "10/min" and
    "10/minute" mean the same as "10/m".
    """
    count, _, period = str(rate).strip().partition("/")
    period = period.strip().lower()
    if not count.strip().isdigit() or int(count) < 1 or period[:1] not in RATE_PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as '10/m', '1000/h' or '2/s'")
    return int(count), RATE_PERIODS[period[0]]


@dataclass(frozen=True)
class Limits:
    """A provider's published limits, declared as data for the dispatch engine and the limiter.

    - `batch_size`: messages in one request (the most the engine claims for one group);
    - `rate`: requests per period, as "10/m";
    - `burst`: requests that may start back to back before the rate applies (bucket capacity);
    - `parallel`: requests in flight at once for one account, None when unlimited;
    - `quota_window`: seconds of the provider's fixed quota window when it counts requests per
      window and reports the count in headers (see `BatchOutcome.quota`), None otherwise.
    """

    batch_size: int
    rate: str
    burst: int = 1
    parallel: int | None = None
    quota_window: int | None = None

    def __post_init__(self) -> None:
        parse_rate(self.rate)
        if self.batch_size < 1 or self.burst < 1:
            raise ValueError("batch_size and burst must be at least 1")
        if self.parallel is not None and self.parallel < 1:
            raise ValueError("parallel must be at least 1, or None for unlimited")

    @property
    def rate_count(self) -> int:
        """Requests allowed per `rate_period`."""
        return parse_rate(self.rate)[0]

    @property
    def rate_period(self) -> int:
        """Seconds over which `rate_count` requests are allowed."""
        return parse_rate(self.rate)[1]

    def min_duration(self, requests_count: int) -> timedelta:
        """The least time `requests_count` requests take: the burst at once, the rest at the rate.

        What staff see as the ETA of a campaign before they dispatch it.
        """
        queued = max(0, requests_count - self.burst)
        return timedelta(seconds=queued * self.rate_period / self.rate_count)


# --- Errors -----------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed as a whole. `response_text` is the provider's answer, redacted."""

    def __init__(self, message: str, *, status_code: int | None = None, response_text: str = ""):
        super().__init__(message)
        self.status_code = status_code
        self.response_text = response_text


class ProviderConfigurationError(ProviderError, ImproperlyConfigured):
    """A setting is missing or the provider refused our credentials: a person must act.

    Never a transient error, so no retry logic swallows it; the campaign pauses with this message.
    """


class NoPermit(Exception):
    """The rate limiter has no permit for a further request within the caller's time.

    Raised by a `Permit`; the provider lets it through, and nothing more was sent.
    """


# Called by a provider before every request to the account beyond the first of a `send()`:
# waits for the shared rate limiter's permit, or raises NoPermit.
Permit = Callable[[], None]


def unlimited() -> None:
    """A Permit that never waits: for sends outside the dispatch engine (tests, scripts)."""


# --- Secrets ----------------------------------------------------------------------------------

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


# --- Settings ---------------------------------------------------------------------------------

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


def setting(name: str, default: Any = "") -> Any:
    """A setting by name; absent or None means `default`."""
    value = getattr(settings, name, None)
    return default if value is None else value


def required_setting(name: str) -> str:
    """A setting that must be non-empty, or ProviderConfigurationError naming it."""
    value = str(setting(name)).strip()
    if not value:
        raise ProviderConfigurationError(f"{name} is not set")
    return value


def url_setting(name: str, default: str = "") -> str:
    """A provider URL setting, checked by `check_url`."""
    return check_url(name, str(setting(name, default)).strip())


def check_url(name: str, value: str) -> str:
    """A provider URL: https, or plain http to this machine (a local mock). Never echoed back,
    as some vendors' URLs may carry a key."""
    if not value:
        raise ProviderConfigurationError(f"{name} is not set")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # such as an unclosed "[" of an IPv6 address
        raise ProviderConfigurationError(f"{name} is not a valid URL") from None
    local = parts.scheme == "http" and hostname in {"localhost", "127.0.0.1", "::1"}
    if not (parts.scheme == "https" and hostname) and not local:
        raise ProviderConfigurationError(f"{name} must be an https:// URL")
    return value


def _int_setting(name: str, default: int | None, maximum: int | None = None) -> int | None:
    value = getattr(settings, name, None)
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
        bound = f"from 1 to {maximum}" if maximum is not None else "of at least 1"
        raise ProviderConfigurationError(f"{name} must be a whole number {bound}, not {value!r}")
    return int(text)


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds from PROVIDER_CONNECT_TIMEOUT and PROVIDER_READ_TIMEOUT."""
    values = []
    for name, default in (
        ("PROVIDER_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        ("PROVIDER_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
    ):
        try:
            seconds = float(setting(name, default))
        except (TypeError, ValueError):
            seconds = 0.0
        if seconds <= 0:
            raise ProviderConfigurationError(f"{name} must be a positive number of seconds")
        values.append(seconds)
    return values[0], values[1]


# --- HTTP -------------------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("vestnik")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"Vestnik/{_version()}"
MAX_TEXT = 2000

_session_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def shared_session() -> requests.Session:
    """The process's HTTP session: one connection pool reused by every provider and thread.

    Made again after a fork (django-q2 forks its workers): a child must not share the parent's
    sockets.
    """
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # The APIs are stateless: a jar shared by every provider and thread would only carry
            # one answer's cookies into another request.
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            # No automatic retries: a repeated POST could deliver a message twice.
            adapter = HTTPAdapter(max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _session, _session_pid = session, os.getpid()
        return _session


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 822 / HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") as an aware datetime, or None."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as provider modules read it: JSON parsed, text redacted and shortened."""

    status_code: int
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, or None when the body is empty or not JSON
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def summary(self) -> dict:
        """What a result stores of this answer: the status and the JSON body (or a text excerpt)."""
        if self.body is not None and len(self.text) <= MAX_TEXT:
            return {"status_code": self.status_code, "body": self.body}
        return {"status_code": self.status_code, "text": self.text[:500]}

    def retry_after(self) -> datetime | None:
        """The time named by a Retry-After header (seconds or an HTTP date), or None."""
        value = (self.headers.get("Retry-After") or "").strip()
        if value.isdigit():
            return utcnow() + timedelta(seconds=int(value))
        return parse_http_date(value)


class TransportFailure(Exception):
    """No HTTP answer came. `status` says whether the request may have reached the provider.

    Internal to the providers package: `send()` turns it into a result for every message.
    """

    def __init__(self, status: ResultStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# Exceptions requests raises before anything is sent because the request itself cannot be built.
_UNBUILDABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


NOTHING_SENT = "nothing was sent."
MAYBE_DELIVERED = "the message may have been delivered."


def _classify(error: requests.RequestException, host: str, read_timeout: float) -> TransportFailure:
    """Whether a transport error happened before the request left (retry) or after (unknown)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return TransportFailure(
            ResultStatus.RETRY,
            "connect_timeout",
            f"{host} did not accept a connection in time; {NOTHING_SENT}",
        )
    if isinstance(error, requests.exceptions.ReadTimeout):
        return TransportFailure(
            ResultStatus.UNKNOWN,
            "read_timeout",
            f"{host} did not answer within {read_timeout:g} s; {MAYBE_DELIVERED}",
        )
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        # Both fail while the connection is being set up, before the request is written.
        return TransportFailure(
            ResultStatus.RETRY,
            "connect_error",
            f"Could not open a secure connection to {host}; {NOTHING_SENT}",
        )
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # Refused, unreachable, or a name that does not resolve: urllib3 raises NewConnectionError
    # (NameResolutionError is one) only while connecting, before a byte of the request is sent.
    if isinstance(error, requests.exceptions.ConnectionError) and isinstance(
        reason, NewConnectionError
    ):
        return TransportFailure(
            ResultStatus.RETRY,
            "connect_error",
            f"Could not connect to {host} (refused, unreachable or unknown host); {NOTHING_SENT}",
        )
    # A reset or a close after the request went out, a broken chunked answer, anything else.
    return TransportFailure(
        ResultStatus.UNKNOWN,
        "connection_lost",
        f"The connection to {host} broke before an answer came; {MAYBE_DELIVERED}",
    )


class HttpClient:
    """Sends one request for a provider and returns an `Answer`, or raises `TransportFailure`.

    Logs each request at DEBUG with its URL redacted. Never follows redirects: a redirected POST
    would silently become a GET and lose its body; a 3xx answer is a configuration problem.
    """

    def __init__(
        self,
        *,
        channel: str,
        redactor: Redactor,
        timeout: tuple[float, float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.channel = channel
        self.redactor = redactor
        self.timeout = timeout or (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
        self.session = session or shared_session()

    def remember_secrets(self, *secrets: str) -> None:
        """Redact these too (Bitrix24 tokens appear as they rotate)."""
        self.redactor.add(*secrets)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Perform the request. Transport errors become `TransportFailure`; HTTP errors do not."""
        active = _ACTIVE_REDACTOR.set(self.redactor)
        try:
            return self._request(method, url, params=params, json=json, headers=headers)
        finally:
            _ACTIVE_REDACTOR.reset(active)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        session = self.session
        host = urlsplit(url).hostname or "the provider"
        try:
            prepared = session.prepare_request(
                requests.Request(method, url, params=params, json=json, headers=dict(headers or {}))
            )
        except _UNBUILDABLE as error:
            # `from None`: requests' message quotes the URL, which may hold a secret.
            raise self._unbuildable(error) from None
        shown_url = self.redactor(prepared.url or url)
        environment = session.merge_environment_settings(prepared.url, {}, None, None, None)
        logger.debug("%s: %s %s", self.channel, method, shown_url)
        started = time.monotonic()
        try:
            response = session.send(
                prepared, timeout=self.timeout, allow_redirects=False, **environment
            )
        except _UNBUILDABLE as error:
            raise self._unbuildable(error) from None
        except requests.RequestException as error:
            failure = _classify(error, host, self.timeout[1])
            logger.warning(
                "%s: %s %s failed: %s (%s)",
                self.channel,
                method,
                shown_url,
                failure.code,
                self.redactor(f"{type(error).__name__}: {error}")[:MAX_TEXT],
            )
            # `from None`: the original exception's text carries the URL, secrets included.
            raise failure from None
        elapsed = (time.monotonic() - started) * 1000
        logger.debug(
            "%s: %s %s answered %s in %.0f ms",
            self.channel,
            method,
            shown_url,
            response.status_code,
            elapsed,
        )
        return self._answer(response)

    def _unbuildable(self, error: Exception) -> ProviderConfigurationError:
        return ProviderConfigurationError(
            f"{self.channel}: the request could not be built ({type(error).__name__}); "
            "check the provider's URL settings"
        )

    def _answer(self, response: requests.Response) -> Answer:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return Answer(
            status_code=response.status_code,
            headers=response.headers,
            body=self.redactor.value(body),
            text=self.redactor(response.text)[: MAX_TEXT + 1],
        )


# --- Providers --------------------------------------------------------------------------------


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


# "No such endpoint or method here": the URL we were given does not lead to the API's method,
# so every request of the campaign would get the same answer. A provider whose 404 means
# something about the message (Yandex Market: the chat is gone) says so in its own table.
NOT_THE_API = frozenset({404, 405})


def verdict_for_status(status_code: int, table: Mapping[int, Verdict]) -> Verdict:
    """The verdict of an HTTP status: the provider's table, else 5xx retry and 4xx failed.

    A 3xx is a configuration problem: redirects are not followed, so the URL is not the API's.
    So are 404 and 405 (`NOT_THE_API`) unless the provider's table says otherwise.
    """
    if status_code in table:
        return table[status_code]
    if 300 <= status_code < 400 or status_code in NOT_THE_API:
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
            batch_size = _int_setting(f"{prefix}_BATCH_SIZE", batch_size, cls.max_batch_size)
        return Limits(
            batch_size=batch_size,
            rate=rate,
            burst=_int_setting(f"{prefix}_BURST", default.burst),
            parallel=_int_setting(f"{prefix}_PARALLEL", default.parallel),
            quota_window=default.quota_window,
        )

    @classmethod
    def from_settings(cls, *, token_store: Any = None) -> Provider:
        """A provider built from settings; ProviderConfigurationError names what is missing."""
        return cls(**cls.read_settings(), limits=cls.limits_from_settings(), timeout=http_timeout())

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


def error_text(*parts: Any) -> str:
    """The non-empty parts joined into one sentence-like text."""
    return ": ".join(str(part) for part in parts if part not in (None, ""))
