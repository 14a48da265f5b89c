"""Sendios SMS callbacks (003_*.txt) that follow accepted Imshop pushes, posted to our webhook.

For a `fraction` of a push's userIds, an SMS is "sent": `sms_sent`, then for some `sms_lost`
(it never arrived) or `sms_click` (its link was followed). Like a real SMS platform, some events
are posted twice (`repeat`, the very same event: same `sms_id` and `ts`) and some users' events
arrive in reverse order (`reorder`). Events carry what our linking needs: `client_user_id` is the
push's userId (our recipient's external id) and `project_id`/`template_id` are the Sendios ids a
campaign is configured with.

Posting runs on one background thread after `delay_seconds`, several due events per body in
Sendios' shape (`{"0": event, "1": event, ..., "sign": null}`), authenticated with our secret as
the HTTP Basic password. `schedule` only queues, so it never slows down the push's answer.
"""

from __future__ import annotations

import base64
import heapq
import http.client
import itertools
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_LINK = "https://example.com/"
POST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CallbackMix:
    """Which callbacks follow a push and how untidily they arrive (fractions from 0 to 1)."""

    fraction: float = 1.0
    lost: float = 0.1
    click: float = 0.2
    repeat: float = 0.05
    reorder: float = 0.1
    delay_seconds: float = 0.05
    project_id: int = 1
    template_id: int = 1
    # 2: sent by a marketing campaign (1 would be a system send).
    category_id: int = 2
    max_events_per_body: int = 100

    def __post_init__(self) -> None:
        for name in ("fraction", "lost", "click", "repeat", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


class CallbackPoster:
    """Queues Sendios events and posts them to `url` from a background thread."""

    def __init__(
        self, url: str, secret: str, mix: CallbackMix, rng: random.Random | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the webhook URL must be http(s)://host/path, not {url!r}")
        self.mix = mix
        self._parts = parts
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._authorization = "Basic " + base64.b64encode(f"sendios:{secret}".encode()).decode()
        self._rng = rng or random.Random()  # noqa: S311 - a simulation, not security
        self._sms_ids = itertools.count(int(time.time()))
        self._order = itertools.count()
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._posting = False
        self._stopping = False
        self._condition = threading.Condition()
        self._counts: Counter[str] = Counter()
        self._answers: Counter[str] = Counter()
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name="sendios-callbacks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop posting; events still queued are dropped."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=POST_TIMEOUT_SECONDS)
        if self._connection is not None:
            self._connection.close()

    def schedule(self, user_ids: list[str], link: str) -> None:
        """Queue the callbacks of the SMS that follow a push to `user_ids`."""
        mix, rng = self.mix, self._rng
        now = time.time()
        ts = math.ceil(now)
        timed: list[tuple[float, int, dict[str, Any]]] = []
        for user_id in user_ids:
            if rng.random() >= mix.fraction:
                continue
            sms_id = next(self._sms_ids)
            events = [self._event("sms_sent", user_id, sms_id, ts)]
            if rng.random() < mix.lost:
                events.append(self._event("sms_lost", user_id, sms_id, ts))
            elif rng.random() < mix.click:
                events.append(self._event("sms_click", user_id, sms_id, ts, link or DEFAULT_LINK))
            if rng.random() < mix.reorder:
                events.reverse()
            for step, event in enumerate(events, start=1):
                timed.append((now + step * mix.delay_seconds, next(self._order), event))
            if rng.random() < mix.repeat:
                again = rng.choice(events)
                timed.append((now + 3 * mix.delay_seconds, next(self._order), again))
        if not timed:
            return
        with self._condition:
            for item in timed:
                heapq.heappush(self._queue, item)
            self._counts["scheduled_events"] += len(timed)
            self._condition.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued event was posted; False if `timeout` passed first."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._queue and not self._posting, timeout=timeout
            )

    def stats(self) -> dict[str, Any]:
        with self._condition:
            return {
                **{"scheduled_events": 0, "posted_events": 0, "posted_bodies": 0, "errors": 0},
                **self._counts,
                "answers": dict(self._answers),
                "pending": len(self._queue),
            }

    def reset(self) -> None:
        """Drop what is queued and zero the counts."""
        with self._condition:
            self._queue.clear()
            self._counts.clear()
            self._answers.clear()
            self._condition.notify_all()

    def _event(
        self, name: str, user_id: str, sms_id: int, ts: int, link: str = ""
    ) -> dict[str, Any]:
        event = {
            "event": name,
            "client_user_id": user_id,
            "project_id": self.mix.project_id,
            "category_id": self.mix.category_id,
            "template_id": self.mix.template_id,
            "sms_id": sms_id,
            "ts": ts,
            "omnichannel": 1,
            "channel": "sms",
        }
        if link:
            event["link"] = link
        return event

    def _run(self) -> None:
        while True:
            with self._condition:
                events = self._take_due()
                if events is None:
                    return
                self._posting = True
            try:
                self._post(events)
            finally:
                with self._condition:
                    self._posting = False
                    self._condition.notify_all()

    def _take_due(self) -> list[dict[str, Any]] | None:
        """Wait for due events and take up to a body's worth; None when stopping."""
        while not self._stopping:
            now = time.time()
            if self._queue and self._queue[0][0] <= now:
                events = []
                while (
                    self._queue
                    and self._queue[0][0] <= now
                    and len(events) < self.mix.max_events_per_body
                ):
                    events.append(heapq.heappop(self._queue)[2])
                return events
            wait = self._queue[0][0] - now if self._queue else None
            self._condition.wait(timeout=wait)
        return None

    def _post(self, events: list[dict[str, Any]]) -> None:
        document: dict[str, Any] = {str(index): event for index, event in enumerate(events)}
        document["sign"] = None
        body = json.dumps(document).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": self._authorization,
            "User-Agent": "Sendios-Webhooks (vestnik emulator)",
        }
        answer = None
        # Twice: a kept-alive connection the webhook's server has closed fails the first time.
        for _attempt in range(2):
            reused = self._connection is not None
            try:
                connection = self._connect()
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                answer = response
                break
            except (OSError, http.client.HTTPException):
                self._drop_connection()
                if not reused:
                    break
        if answer is None:
            with self._condition:
                self._counts["errors"] += 1
            return
        with self._condition:
            self._counts["posted_bodies"] += 1
            self._counts["posted_events"] += len(events)
            self._answers[str(answer.status)] += 1
        if answer.will_close:
            self._drop_connection()

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(
                self._parts.hostname, self._parts.port, timeout=POST_TIMEOUT_SECONDS
            )
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
