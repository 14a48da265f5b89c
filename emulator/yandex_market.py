"""Yandex Market Partner API: send a message to a buyer chat (002_*.txt, CONTRACTS.md).

`POST /v2/businesses/{businessId}/chats/message?chatId={chatId}` with `Api-Key: <token>` and
`{"message": text}`. Errors are `{"status": "ERROR", "errors": [{"code", "message"}]}`: 401 without
credentials, 403 with wrong ones (or another business), 400 for a bad request, 420 over a limit,
500 for a transient failure.

Per business: `requests_per_window` requests in a fixed window aligned to the clock (the hour, as
Yandex counts), failed 4xx requests included, and at most `max_parallel` in flight. Every answer
to an authenticated request carries `X-RateLimit-Resource-Limit`, `-Remaining` and `-Until` (an
RFC 822 date: the end of the window, rounded up to the second HTTP dates can express).
ASSUMED: a request over the parallel limit is answered like one over the quota (420).
"""

from __future__ import annotations

import email.utils
import hmac
import math
import re
import time

from . import limits
from .base import Behaviour, Service
from .wire import Reply, Request, is_id, text_hash

_PATH = re.compile(r"^/v2/businesses/(?P<business>[^/]+)/chats/message$")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status, {"status": "ERROR", "errors": [{"code": code, "message": message}]}, headers or {}
    )


class YandexMarketService(Service):
    """One business's chat messages: Api-Key, the hourly quota and four parallel requests."""

    name = "yandex_market"

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        api_key: str,
        business_id: str,
        rules: limits.YandexMarketLimits = limits.YANDEX_MARKET,
    ) -> None:
        super().__init__(behaviour, rules.window_seconds)
        self.rules = rules
        self._api_key = api_key.encode()
        self.business_id = business_id
        self._window = behaviour.seconds(rules.window_seconds)
        self._window_index = -1
        self._used = 0

    def owns(self, path: str) -> bool:
        return path.startswith("/v2/businesses/") or path.startswith("/businesses/")

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._window_index, self._used = -1, 0

    def route(self, request: Request) -> Reply | None:
        # The deprecated path without /v2 is not served: our client must use the current one.
        if not _PATH.match(request.path):
            return error(404, "NOT_FOUND", "Resource not found")
        if request.method != "POST":
            return error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed")
        return None

    def answer(self, request: Request, in_flight: int) -> Reply:
        key = request.headers.get("Api-Key")
        if not key:
            self.tally.refuse("unauthorized")
            return error(401, "UNAUTHORIZED", "Api-Key header is required")
        business = _PATH.match(request.path)["business"]  # type: ignore[index]
        if not hmac.compare_digest(key.encode(), self._api_key) or business != self.business_id:
            self.tally.refuse("forbidden")
            return error(403, "FORBIDDEN", "Access denied: check the token and its scope")
        if in_flight > self.rules.max_parallel and self.crossed("parallel_limit"):
            return error(
                420,
                "LIMIT_EXCEEDED",
                f"Too many parallel requests: at most {self.rules.max_parallel}",
                self._quota_headers(*self._peek()),
            )
        admitted, used, until = self._count()
        headers = self._quota_headers(used, until)
        if not admitted and self.crossed("rate_limited"):
            return error(
                420,
                "LIMIT_EXCEEDED",
                f"Limit of {self.rules.requests_per_window} requests per hour exceeded",
                headers,
            )
        if self.behaviour.fails():
            self.tally.refuse("injected_failure")
            return error(500, "INTERNAL_ERROR", "Internal server error", headers)
        problem = self._problem(request)
        if problem:
            self.tally.refuse("bad_request")
            return error(400, "BAD_REQUEST", problem, headers)
        text = request.json["message"]
        self.tally.accept([request.query["chatId"]], [text_hash(text)])
        return Reply(200, {"status": "OK"}, headers)

    def _problem(self, request: Request) -> str:
        if not is_id(request.query.get("chatId", ""), limits.MAX_ID):
            return "chatId: required, a positive 64-bit integer"
        try:
            body = request.json
        except ValueError:
            return "Request body is not valid JSON"
        text = body.get("message") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return "message: required, a string"
        if not self.rules.min_text_length <= len(text) <= self.rules.max_text_length:
            return (
                f"message: length must be between {self.rules.min_text_length} and "
                f"{self.rules.max_text_length}"
            )
        return ""

    def _count(self) -> tuple[bool, int, float]:
        """Spend one request of the window: (admitted, used so far, the window's end)."""
        now = time.time()
        index = int(now // self._window)
        with self.lock:
            if index != self._window_index:
                self._window_index, self._used = index, 0
            admitted = self._used < self.rules.requests_per_window
            if admitted or not self.behaviour.limits:
                self._used += 1
            used = self._used
        return admitted, used, (index + 1) * self._window

    def _peek(self) -> tuple[int, float]:
        now = time.time()
        index = int(now // self._window)
        with self.lock:
            used = self._used if index == self._window_index else 0
        return used, (index + 1) * self._window

    def _quota_headers(self, used: int, until: float) -> dict[str, str]:
        return {
            "X-RateLimit-Resource-Limit": str(self.rules.requests_per_window),
            "X-RateLimit-Resource-Remaining": str(max(0, self.rules.requests_per_window - used)),
            "X-RateLimit-Resource-Until": email.utils.formatdate(math.ceil(until), usegmt=True),
        }
