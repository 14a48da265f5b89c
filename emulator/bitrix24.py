"""Bitrix24: the portal's REST API for `pull.application.push.add` and `batch`, and OAuth 2.0.

REST (004_*.txt, CONTRACTS.md): `POST /rest/pull.application.push.add.json` and
`/rest/batch.json`, parameters in a JSON body, a form or the query (PHP-style `USER_ID[]=1`), the
access token as `auth`. Errors are `{"error": CODE, "error_description": str}`. A webhook-style
path (`/rest/{user}/{code}/{method}`) gets WRONG_AUTH_TYPE: pushes need an OAuth application.
The portal's leaky bucket holds `bucket_capacity` requests and drains `drain_per_second`; a batch
is one request; a full bucket answers 503 QUERY_LIMIT_EXCEEDED.

OAuth (the portal's consent page and oauth.bitrix.info's token endpoint, served on one host):
`GET /oauth/authorize/?client_id=...&state=...` redirects straight back (no login page) to the
app's redirect URI with a `code` that lives `authorization_code_seconds`;
`/oauth/token/?grant_type=authorization_code|refresh_token&client_id&client_secret&...` trades it
or a refresh token for a new pair. Every refresh token works once: the answer's replaces it.
Access tokens expire after `access_token_seconds`, then calls answer 401 expired_token.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import limits
from .base import Behaviour, Service
from .wire import Reply, Request, is_id, php_query, text_hash

PUSH_METHOD = "pull.application.push.add"
BATCH_METHOD = "batch"
OAUTH_AUTHORIZE = "/oauth/authorize/"
OAUTH_TOKEN = "/oauth/token/"  # noqa: S105 - a path, not a secret
OAUTH_SERVER_DOMAIN = "oauth.bitrix.info"
SCOPE = "pull"
# What Bitrix24 answers for each refusal: HTTP status and description.
ERRORS: dict[str, tuple[int, str]] = {
    "NO_AUTH_FOUND": (401, "Wrong authorization data"),
    "invalid_token": (401, "The access token provided is invalid."),
    "expired_token": (401, "The access token provided has expired."),
    "WRONG_AUTH_TYPE": (
        403,
        "Send push notifications available only for application authorization.",
    ),
    "QUERY_LIMIT_EXCEEDED": (503, "Too many requests"),
    "INTERNAL_SERVER_ERROR": (500, "Internal server error"),
    "ERROR_METHOD_NOT_FOUND": (404, "Method not found!"),
    "ERROR_BATCH_LENGTH_EXCEEDED": (400, "Max batch length exceeded"),
    "INVALID_REQUEST": (400, "The request body cannot be read"),
    "TEXT_ERROR": (400, "Text is empty"),
    # ASSUMED: the method's documentation lists no code for a missing USER_ID.
    "USER_ID_ERROR": (400, "USER_ID must be a user id or an array of user ids"),
}


def refusal(code: str) -> Reply:
    status, description = ERRORS[code]
    return Reply(status, {"error": code, "error_description": description})


def _timing(started: float) -> dict[str, Any]:
    finished = time.time()
    return {
        "start": started,
        "finish": finished,
        "duration": finished - started,
        "processing": finished - started,
        "date_start": datetime.fromtimestamp(started, UTC).isoformat(),
        "date_finish": datetime.fromtimestamp(finished, UTC).isoformat(),
        "operating": 0,
    }


def _method(path: str) -> str | None:
    """The REST method of an OAuth-style path (`/rest/batch.json` → "batch"), else None."""
    parts = path.split("/")
    if len(parts) != 3 or parts[1] != "rest" or not parts[2]:
        return None
    return parts[2].removesuffix(".json")


class Bitrix24Service(Service):
    """One portal with one OAuth application installed."""

    name = "bitrix24"

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        rules: limits.Bitrix24Limits = limits.BITRIX24,
    ) -> None:
        super().__init__(behaviour, rules.window_seconds)
        self.rules = rules
        self.client_id = client_id
        self._client_secret = client_secret.encode()
        self.redirect_uri = redirect_uri
        self.portal_url = ""  # set by the emulator once it knows its address
        self.member_id = secrets.token_hex(16)
        # token → when it stops working (time.monotonic()); guarded by self.lock.
        self._codes: dict[str, float] = {}
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._level = 0.0
        self._drained_at = time.monotonic()
        self.oauth = Counter[str]()

    def owns(self, path: str) -> bool:
        return path.startswith("/rest/") or path in (OAUTH_AUTHORIZE, OAUTH_TOKEN)

    def reset(self) -> None:
        """Forget the record and empty the bucket; issued tokens stay valid."""
        super().reset()
        with self.lock:
            self._level, self._drained_at = 0.0, time.monotonic()
            self.oauth.clear()

    def stats(self) -> dict:
        with self.lock:
            oauth = dict(self.oauth)
        return {**super().stats(), "oauth": oauth}

    # --- OAuth ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if request.path == OAUTH_AUTHORIZE:
            return self.authorize(request)
        if request.path == OAUTH_TOKEN:
            return self.token(request)
        return super().handle(request)

    def authorize(self, request: Request) -> Reply:
        """The consent page, already agreed to: back to the app with a fresh code."""
        query = request.query
        if query.get("client_id") != self.client_id:
            self._count_oauth("authorize_refused")
            return Reply(400, {"error": "invalid_client", "error_description": "Unknown client_id"})
        target = query.get("redirect_uri") or self.redirect_uri
        if not target:
            self._count_oauth("authorize_refused")
            return Reply(
                400,
                b"The emulator knows no redirect URI for this app: start it with "
                b"--bitrix24-redirect-uri (the address Admin -> Connect Bitrix24 shows).\n",
            )
        code = secrets.token_hex(16)
        with self.lock:
            self._codes[code] = time.monotonic() + self._seconds(
                self.rules.authorization_code_seconds
            )
            self.oauth["authorized"] += 1
        answer = {
            "code": code,
            "state": query.get("state", ""),
            "domain": urlsplit(self.portal_url).netloc,
            "member_id": self.member_id,
            "scope": SCOPE,
            "server_domain": OAUTH_SERVER_DOMAIN,
        }
        joiner = "&" if urlsplit(target).query else "?"
        return Reply(302, b"", {"Location": f"{target}{joiner}{urlencode(answer)}"})

    def token(self, request: Request) -> Reply:
        """`/oauth/token/`: a code or a refresh token (used once) for a new token pair."""
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        if request.method == "POST" and request.body:
            params.update(parse_qsl(request.body.decode("utf-8", "replace")))
        secret = params.get("client_secret", "").encode()
        if params.get("client_id") != self.client_id or not hmac.compare_digest(
            secret, self._client_secret
        ):
            self._count_oauth("invalid_client")
            return Reply(401, {"error": "invalid_client", "error_description": "Invalid client"})
        grant = params.get("grant_type")
        store, key = {
            "authorization_code": (self._codes, "code"),
            "refresh_token": (self._refresh, "refresh_token"),
        }.get(grant or "", (None, ""))
        if store is None:
            self._count_oauth("unsupported_grant_type")
            return Reply(
                400, {"error": "unsupported_grant_type", "error_description": "Unknown grant"}
            )
        with self.lock:
            expires = store.pop(params.get(key, ""), None)
        if expires is None or expires < time.monotonic():
            self._count_oauth("invalid_grant")
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid grant"})
        self._count_oauth(f"granted_{grant}")
        return Reply(200, self.issue_tokens())

    def issue_tokens(self) -> dict[str, Any]:
        """A new token pair, as the token endpoint answers it (what installing the app gives)."""
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        lifetime = self._seconds(self.rules.access_token_seconds)
        with self.lock:
            now = time.monotonic()
            self._access[access] = now + lifetime
            self._refresh[refresh] = now + self._seconds(self.rules.refresh_token_seconds)
        return {
            "access_token": access,
            "expires": math.floor(time.time() + lifetime),
            "expires_in": max(1, round(lifetime)),
            "scope": "app",
            "domain": OAUTH_SERVER_DOMAIN,
            "server_endpoint": f"https://{OAUTH_SERVER_DOMAIN}/rest/",
            "status": "L",
            "client_endpoint": f"{self.portal_url}/rest/",
            "member_id": self.member_id,
            "user_id": 1,
            "refresh_token": refresh,
        }

    def _count_oauth(self, what: str) -> None:
        with self.lock:
            self.oauth[what] += 1

    def _seconds(self, published: float) -> float:
        return self.behaviour.seconds(published)

    # --- REST -----------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply | None:
        parts = request.path.split("/")
        if _method(request.path) is None and len(parts) != 5:
            return refusal("ERROR_METHOD_NOT_FOUND")
        return None

    def answer(self, request: Request, in_flight: int) -> Reply:
        started = time.time()
        try:
            params = self._params(request)
        except ValueError:
            self.tally.refuse("bad_request")
            return refusal("INVALID_REQUEST")
        method = _method(request.path)
        if method is None:
            # /rest/{user}/{code}/{method}: an inbound webhook, which may not send app pushes.
            self.tally.refuse("wrong_auth_type")
            return refusal("WRONG_AUTH_TYPE")
        problem = self._auth_problem(params.get("auth"))
        if problem:
            self.tally.refuse(problem)
            return refusal(problem)
        if not self._drip() and self.crossed("rate_limited"):
            return refusal("QUERY_LIMIT_EXCEEDED")
        if self.behaviour.fails():
            self.tally.refuse("injected_failure")
            return refusal("INTERNAL_SERVER_ERROR")
        if method == PUSH_METHOD:
            code = self._push(params)
            if code:
                self.tally.refuse(code)
                return refusal(code)
            return Reply(200, {"result": True, "time": _timing(started)})
        if method == BATCH_METHOD:
            return self._batch(params, started)
        self.tally.refuse("method_not_found")
        return refusal("ERROR_METHOD_NOT_FOUND")

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params = php_query(parse_qsl(request.query_string, keep_blank_values=True))
        if not request.body:
            return params
        if "json" in (request.headers.get("Content-Type") or ""):
            body = request.json
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return {**params, **body}
        pairs = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {**params, **php_query(pairs)}

    def _auth_problem(self, token: Any) -> str:
        if not token or not isinstance(token, str):
            return "NO_AUTH_FOUND"
        with self.lock:
            expires = self._access.get(token)
        if expires is None:
            return "invalid_token"
        if expires < time.monotonic():
            return "expired_token"
        return ""

    def _drip(self) -> bool:
        """Put one request in the portal's bucket; False when it is full (it is then not added,
        unless limits are off)."""
        now = time.monotonic()
        drain = self.rules.drain_per_second * self.behaviour.time_scale
        with self.lock:
            self._level = max(0.0, self._level - (now - self._drained_at) * drain)
            self._drained_at = now
            fits = self._level + 1 <= self.rules.bucket_capacity
            if fits or not self.behaviour.limits:
                self._level += 1
            return fits

    def _push(self, params: dict[str, Any]) -> str:
        """Send one push: "" when accepted (and recorded), else the error code."""
        user_ids = params.get("USER_ID")
        user_ids = user_ids if isinstance(user_ids, list) else [user_ids]
        if not user_ids or not all(is_id(user_id, limits.MAX_ID) for user_id in user_ids):
            return "USER_ID_ERROR"
        text = params.get("TEXT")
        if not isinstance(text, str) or not text.strip():
            return "TEXT_ERROR"
        digest = text_hash(text, str(params.get("AVATAR") or ""))
        self.tally.accept([str(user_id) for user_id in user_ids], [digest] * len(user_ids))
        return ""

    def _batch(self, params: dict[str, Any], started: float) -> Reply:
        commands = params.get("cmd")
        if isinstance(commands, list):
            commands = {str(index): command for index, command in enumerate(commands)}
        if not isinstance(commands, dict) or not commands:
            self.tally.refuse("bad_request")
            return refusal("INVALID_REQUEST")
        if len(commands) > self.rules.max_batch_commands:
            self.tally.refuse("too_many_items")
            return refusal("ERROR_BATCH_LENGTH_EXCEEDED")
        halt = str(params.get("halt", "0")) not in ("0", "", "false")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, command in commands.items():
            method, _, query = str(command).partition("?")
            code = (
                self._push(php_query(parse_qsl(query, keep_blank_values=True)))
                if method.removesuffix(".json") == PUSH_METHOD
                else "ERROR_METHOD_NOT_FOUND"
            )
            if code:
                self.tally.refuse(code)
                errors[key] = {"error": code, "error_description": ERRORS[code][1]}
                if halt:
                    break
            else:
                results[key] = True
        # PHP writes an empty map as [], and Bitrix24's batch answers show it.
        result = {
            "result": results or [],
            "result_error": errors or [],
            "result_total": [],
            "result_next": [],
            "result_time": {},
        }
        return Reply(200, {"result": result, "time": _timing(started)})
