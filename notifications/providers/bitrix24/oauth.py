"""The Bitrix24 portal's address and Bitrix24's OAuth server: connecting the app, refreshing.

`authorize_url`, `exchange_code` and `exchange_refresh_token` are for the admin page and the
management command that connect the app; the provider refreshes through `OAuthServer`, whose
errors are stored reasons (`notifications.reasons`), written out for a person by those three.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.utils.translation import gettext, gettext_lazy

from notifications.reasons import reason_encode, reason_text

from ..exceptions import ProviderConfigurationError, ProviderError
from ..http import HttpClient, TransportFailure, utcnow
from ..redaction import Redactor
from ..settings import check_url, http_timeout, required_setting, url_setting
from ..values import ResultStatus, stated
from .tokens import Tokens

DEFAULT_OAUTH_URL = "https://oauth.bitrix.info"


class OAuthServer:
    """The token endpoint of Bitrix24's OAuth server (`{BITRIX24_OAUTH_URL}/oauth/token/`)."""

    def __init__(self, *, oauth_url: str, client_id: str, client_secret: str, http: HttpClient):
        self.token_url = f"{oauth_url.rstrip('/')}/oauth/token/"
        self.client_id = client_id
        self._client_secret = client_secret
        self.http = http
        http.remember_secrets(client_secret)

    def refresh(self, refresh_token: str) -> Tokens:
        return self.tokens("refresh_token", refresh_token=refresh_token)

    def tokens(self, grant_type: str, **grant: str) -> Tokens:
        """Ask for tokens. Raises ProviderConfigurationError when refused, TransportFailure
        (status retry) when the server cannot be reached or answers with a server error."""
        self.http.remember_secrets(*grant.values())
        params = {
            "grant_type": grant_type,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            **grant,
        }
        try:
            answer = self.http.request("GET", self.token_url, params=params)
        except TransportFailure as failure:
            raise TransportFailure(
                ResultStatus.RETRY,
                failure.code,
                reason_encode("bitrix24_oauth_unreachable", error=failure.code),
            ) from None
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.ok and body.get("access_token") and body.get("refresh_token"):
            access, refresh = str(body["access_token"]), str(body["refresh_token"])
            self.http.remember_secrets(access, refresh)
            return Tokens(access, refresh, _expiry(body))
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or "")
        if error == "invalid_grant":
            raise ProviderConfigurationError(
                reason_encode("bitrix24_invalid_grant"),
                status_code=answer.status_code,
                response_text=answer.text,
            )
        if error == "invalid_client":
            raise ProviderConfigurationError(
                reason_encode("bitrix24_invalid_client"),
                status_code=answer.status_code,
                response_text=answer.text,
            )
        if error and answer.status_code < 500:
            raise ProviderConfigurationError(
                stated(reason_encode("bitrix24_oauth_refused"), error, description),
                status_code=answer.status_code,
                response_text=answer.text,
            )
        raise TransportFailure(
            ResultStatus.RETRY,
            f"oauth_http_{answer.status_code}",
            reason_encode("bitrix24_oauth_no_tokens", status=answer.status_code),
        )


def _expiry(body: Mapping[str, Any]) -> datetime | None:
    expires, expires_in = body.get("expires"), body.get("expires_in")
    if isinstance(expires, int | float):
        return datetime.fromtimestamp(expires, UTC)
    if isinstance(expires_in, int | float):
        return utcnow() + timedelta(seconds=expires_in)
    return None


PORTAL_WITH_PATH = gettext_lazy(
    "BITRIX24_PORTAL_URL must be the portal's address without a path, such as "
    "https://yourcompany.bitrix24.ru: Bitrix24 serves REST at the host's /rest/, so the path "
    "cannot be honoured"
)


def portal_url() -> str:
    """BITRIX24_PORTAL_URL as `https://host`; a bare host is accepted.

    A portal is a host (REST lives at `https://{portal}/rest/`). A path, query or fragment is
    refused rather than dropped: it would mean the URL is not the portal's (a webhook URL, a
    self-hosted portal behind a prefix), and the value is never echoed, as a webhook URL holds a
    secret.
    """
    raw = required_setting("BITRIX24_PORTAL_URL")
    url = check_url("BITRIX24_PORTAL_URL", raw if "://" in raw else f"https://{raw}")
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProviderConfigurationError(PORTAL_WITH_PATH)
    return f"{parts.scheme}://{parts.netloc}"


def oauth_server_from_settings() -> OAuthServer:
    redactor = Redactor()
    return OAuthServer(
        oauth_url=url_setting("BITRIX24_OAUTH_URL", DEFAULT_OAUTH_URL),
        client_id=required_setting("BITRIX24_CLIENT_ID"),
        client_secret=required_setting("BITRIX24_CLIENT_SECRET"),
        http=HttpClient(channel="bitrix24", redactor=redactor, timeout=http_timeout()),
    )


def authorize_url(state: str) -> str:
    """Where to send the person who connects the app: the portal's OAuth consent page."""
    query = urlencode({"client_id": required_setting("BITRIX24_CLIENT_ID"), "state": state})
    return f"{portal_url()}/oauth/authorize/?{query}"


def _tokens_from_settings(grant_type: str, **grant: str) -> Tokens:
    server = oauth_server_from_settings()
    # A person is waiting: the stored reasons become sentences in their language.
    try:
        return server.tokens(grant_type, **grant)
    except TransportFailure as failure:
        raise ProviderError(
            gettext("%(reason)s Try again.") % {"reason": reason_text(failure.message)}
        ) from None
    except ProviderConfigurationError as error:
        raise ProviderConfigurationError(
            reason_text(str(error)),
            status_code=error.status_code,
            response_text=error.response_text,
        ) from None


def exchange_code(code: str) -> Tokens:
    """The first tokens, for the `code` Bitrix24 passed back to our redirect (valid 30 s)."""
    return _tokens_from_settings("authorization_code", code=code)


def exchange_refresh_token(refresh_token: str) -> Tokens:
    """New tokens for a refresh token. The answer's refresh token replaces the old one."""
    return _tokens_from_settings("refresh_token", refresh_token=refresh_token)
