"""HTTP for all four providers: one session per process, and transport errors as results.

One `requests.Session` per process, separate connect and read timeouts, our User-Agent, no
automatic retries and no redirects. The line that matters is whether the request may have
reached the provider: a request that never left is safe to retry; one that may have arrived is
`unknown`, because no provider offers an idempotency key and a duplicate push is worse than a gap.
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from notifications.reasons import reason_encode

from .exceptions import ProviderConfigurationError
from .redaction import Redactor, redacting
from .settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from .values import ResultStatus

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("vestnik")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"Vestnik/{_version()}"
# The most characters of an answer's text, or of a result's message, that are kept.
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
    `message` is a stored reason (`notifications.reasons`): it is written down as it is.
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


def _classify(error: requests.RequestException, host: str, read_timeout: float) -> TransportFailure:
    """Whether a transport error happened before the request left (retry) or after (unknown)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return TransportFailure(
            ResultStatus.RETRY,
            "connect_timeout",
            reason_encode("connect_timeout", host=host),
        )
    if isinstance(error, requests.exceptions.ReadTimeout):
        return TransportFailure(
            ResultStatus.UNKNOWN,
            "read_timeout",
            reason_encode("read_timeout", host=host, seconds=f"{read_timeout:g}"),
        )
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        # Both fail while the connection is being set up, before the request is written.
        return TransportFailure(
            ResultStatus.RETRY,
            "connect_error",
            reason_encode("no_secure_connection", host=host),
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
            reason_encode("no_connection", host=host),
        )
    # A reset or a close after the request went out, a broken chunked answer, anything else.
    return TransportFailure(
        ResultStatus.UNKNOWN,
        "connection_lost",
        reason_encode("connection_lost", host=host),
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
        with redacting(self.redactor):
            return self._request(method, url, params=params, json=json, headers=headers)

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
        host = urlsplit(url).hostname or reason_encode("the_provider")
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
            reason_encode("request_unbuildable", channel=self.channel, error=type(error).__name__)
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
