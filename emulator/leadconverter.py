"""LeadConverter `broadcasting.sendMessageBatch` (001_*.txt).

`POST /api/v1/{token}/broadcasting.sendMessageBatch` with `{"batch": [...]}`, or the same batch in
the query string (`?batch[0][subscriber_id]=7365&...`), as the vendor's document shows. At most
`max_batch_items` items; each needs a positive `subscriber_id` and a `text`, a `file_uuid`, or both.

LeadConverter publishes neither its answers nor a rate limit. ASSUMED here, and matching what
`notifications.providers.leadconverter` assumes: `{"success": true}` on success; a refused token
is 401, a bad batch 400, both with `{"success": false, "error": <sentence>}`; a transient failure
is a 500 with the same shape.
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

from . import limits
from .base import Behaviour, Service
from .wire import Reply, Request, is_id, php_query, text_hash

BASE_PATH = "/api/v1"
METHOD = "broadcasting.sendMessageBatch"
_PATH = re.compile(rf"^{BASE_PATH}/(?P<token>[^/]+)/(?P<method>[^/]+)$")

UNAVAILABLE = {"success": False, "error": "Internal server error, try again later"}


def _refused(status: int, error: str) -> Reply:
    return Reply(status, {"success": False, "error": error})


def item_problem(index: int, item: Any) -> str:
    """Why a batch item is not valid, or ""."""
    where = f"batch[{index}]"
    if not isinstance(item, dict):
        return f"{where} must be an object"
    if not is_id(item.get("subscriber_id"), limits.MAX_ID):
        return f"{where}.subscriber_id is required and must be a positive integer"
    text, file_uuid = item.get("text"), item.get("file_uuid")
    if not text and not file_uuid:
        return f"{where}: text is required when file_uuid is not given"
    if text is not None and not isinstance(text, str):
        return f"{where}.text must be a string"
    if file_uuid is not None:
        try:
            uuid.UUID(str(file_uuid))
        except ValueError:
            return f"{where}.file_uuid must be a file UUID"
    return ""


class LeadConverterService(Service):
    """LeadConverter's batch method: token in the path, at most 100 items."""

    name = "leadconverter"

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        token: str,
        rules: limits.LeadConverterLimits = limits.LEADCONVERTER,
    ) -> None:
        super().__init__(behaviour, rules.window_seconds)
        self.rules = rules
        self._token = token.encode()

    def owns(self, path: str) -> bool:
        return path.startswith(f"{BASE_PATH}/")

    def route(self, request: Request) -> Reply | None:
        match = _PATH.match(request.path)
        if not match or match["method"] != METHOD:
            return _refused(404, "Method not found")
        if request.method not in ("GET", "POST"):
            return _refused(405, "Method not allowed")
        return None

    def answer(self, request: Request, in_flight: int) -> Reply:
        token = unquote(request.path.split("/")[-2])
        if not hmac.compare_digest(token.encode(), self._token):
            self.tally.refuse("unauthorized")
            return _refused(401, "Invalid token")
        if self.behaviour.fails():
            self.tally.refuse("injected_failure")
            return _refused(500, UNAVAILABLE["error"])
        try:
            batch = self._batch(request)
        except ValueError:
            self.tally.refuse("bad_request")
            return _refused(400, "The request body is not valid JSON")
        if not isinstance(batch, list) or not batch:
            self.tally.refuse("bad_request")
            return _refused(400, "batch is required and must be a non-empty array")
        if len(batch) > self.rules.max_batch_items:
            self.tally.refuse("too_many_items")
            return _refused(400, f"batch must contain at most {self.rules.max_batch_items} items")
        for index, item in enumerate(batch):
            if problem := item_problem(index, item):
                self.tally.refuse("bad_request")
                return _refused(400, problem)
        self.tally.accept(
            [str(item["subscriber_id"]) for item in batch],
            [text_hash(item.get("text") or "", item.get("file_uuid") or "") for item in batch],
        )
        return Reply(200, {"success": True})

    @staticmethod
    def _batch(request: Request) -> Any:
        """The batch from a JSON body, else from the (PHP-style) query string or form."""
        content_type = request.headers.get("Content-Type") or ""
        if "json" in content_type or request.body.lstrip().startswith(b"{"):
            body = request.json
            return body.get("batch") if isinstance(body, dict) else None
        pairs = parse_qsl(request.query_string, keep_blank_values=True)
        if request.body:
            pairs += parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return php_query(pairs).get("batch")
