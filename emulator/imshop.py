"""Imshop push (000_*.txt): `POST /imshop/push` with `Authorization: Bearer <key>`.

Imshop gives each shop its own push URL; the emulator's is `PATH`. Its error bodies are
hapi/Boom's (`{"error": "Bad Request", "message": <joi's sentence>}`), so validation speaks joi:
the first failing field, in schema order, with joi's wording; unknown fields are refused as joi
does by default. The limit is a sliding window of `requests_per_window` per `window_seconds`.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from . import limits
from .base import Behaviour, Service
from .wire import Reply, Request, text_hash

PATH = "/imshop/push"

# The transient failure Imshop documents.
UNAVAILABLE = {"success": False, "error": "Integration is unavailable"}

# Called with the userIds and deeplink of every accepted push (the Sendios callbacks hook).
PushListener = Callable[[list[str], str], None]


def _bad_request(message: str) -> Reply:
    return Reply(400, {"error": "Bad Request", "message": message})


def _child(name: str, reason: str) -> str:
    return f'child "{name}" fails because [{reason}]'


def _string_problem(name: str, value: Any) -> str:
    """joi's reason why `value` is not a non-empty string, or ""."""
    if not isinstance(value, str):
        return f'"{name}" must be a string'
    if not value:
        return f'"{name}" is not allowed to be empty'
    return ""


def validation_error(body: Any, max_user_ids: int) -> str:
    """joi's sentence for the first problem of a push body, or "" when it is valid."""
    if not isinstance(body, dict):
        return '"value" must be an object'
    user_ids = body.get("userIds")
    if user_ids is None:
        return _child("userIds", '"userIds" is required')
    if not isinstance(user_ids, list):
        return _child("userIds", '"userIds" must be an array')
    if not user_ids:
        return _child("userIds", '"userIds" must contain at least 1 items')
    if len(user_ids) > max_user_ids:
        return _child(
            "userIds", f'"userIds" must contain less than or equal to {max_user_ids} items'
        )
    for position, user_id in enumerate(user_ids):
        if problem := _string_problem(str(position), user_id):
            return _child("userIds", f'"userIds" at position {position} fails because [{problem}]')
    message = body.get("message")
    if message is None:
        return _child("message", '"message" is required')
    if not isinstance(message, dict):
        return _child("message", '"message" must be an object')
    for field in ("title", "summary"):
        if field not in message:
            return _child("message", _child(field, f'"{field}" is required'))
        if problem := _string_problem(field, message[field]):
            return _child("message", _child(field, problem))
    if unknown := sorted(message.keys() - {"title", "summary"}):
        return _child("message", f'"{unknown[0]}" is not allowed')
    if "deeplink" in body and (problem := _string_problem("deeplink", body["deeplink"])):
        return _child("deeplink", problem)
    if unknown := sorted(body.keys() - {"userIds", "message", "deeplink"}):
        return f'"{unknown[0]}" is not allowed'
    return ""


class ImshopService(Service):
    """Imshop's push endpoint: Bearer key, joi validation, 10 requests a minute."""

    name = "imshop"

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        api_key: str,
        rules: limits.ImshopLimits = limits.IMSHOP,
        on_push: PushListener | None = None,
    ) -> None:
        super().__init__(behaviour, rules.window_seconds)
        self.rules = rules
        self._api_key = api_key.encode()
        self.on_push = on_push
        self._window = behaviour.seconds(rules.window_seconds)
        self._recent: deque[float] = deque()

    def owns(self, path: str) -> bool:
        return path == PATH

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._recent.clear()

    def route(self, request: Request) -> Reply | None:
        if request.method != "POST":
            return Reply(404, {"error": "Not Found", "message": "Not Found"})
        return None

    def answer(self, request: Request, in_flight: int) -> Reply:
        scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            self.tally.refuse("unauthorized")
            return Reply(401, {"error": "Unauthorized", "message": "Missing authentication"})
        if not hmac.compare_digest(key.strip().encode(), self._api_key):
            self.tally.refuse("unauthorized")
            return Reply(401, {"error": "Unauthorized", "message": "Bad token"})
        wait = self._admit()
        if wait is not None and self.crossed("rate_limited"):
            return Reply(
                limits.IMSHOP_LIMIT_STATUS,
                {
                    "error": "Too Many Requests",
                    "message": f"Rate limit exceeded: {self.rules.requests_per_window} requests "
                    f"per {self.rules.window_seconds:g} seconds",
                },
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if self.behaviour.fails():
            self.tally.refuse("injected_failure")
            return Reply(200, UNAVAILABLE)
        try:
            body = request.json
        except ValueError:
            self.tally.refuse("bad_request")
            return _bad_request("Invalid request payload JSON format")
        if problem := validation_error(body, self.rules.max_user_ids):
            user_ids = body.get("userIds") if isinstance(body, dict) else None
            too_many = isinstance(user_ids, list) and len(user_ids) > self.rules.max_user_ids
            self.tally.refuse("too_many_items" if too_many else "bad_request")
            return _bad_request(problem)
        message = body["message"]
        deeplink = body.get("deeplink", "")
        digest = text_hash(message["title"], message["summary"], deeplink)
        user_ids = body["userIds"]
        self.tally.accept(user_ids, [digest] * len(user_ids))
        if self.on_push is not None:
            self.on_push(user_ids, deeplink)
        return Reply(200, {"success": True})

    def _admit(self) -> float | None:
        """Count the request in the sliding window; None when it fits, else seconds to wait.

        A refused request is not counted, so a client that waits as told gets through.
        """
        now = time.monotonic()
        with self.lock:
            recent = self._recent
            while recent and now - recent[0] >= self._window:
                recent.popleft()
            if len(recent) >= self.rules.requests_per_window:
                if not self.behaviour.limits:
                    recent.append(now)  # let through, and still counted
                return self._window - (now - recent[0])
            recent.append(now)
            return None
