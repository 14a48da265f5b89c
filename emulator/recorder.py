"""What the emulator saw, per provider: requests, accepted messages, refusals, parallelism.

The hot path takes one short lock per provider a few times per request and never per message;
everything derived (distinct messages, duplicates, requests per window) is computed when the stats
are read, so a benchmark pays for it only once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Accepted:
    """A message a provider accepted: who it went to, when (unix seconds), its text's digest."""

    provider: str
    address: str
    at: float
    text_hash: str


class Tally:
    """One provider's record. `window_seconds` is the (scaled) width requests are counted in."""

    def __init__(self, provider: str, window_seconds: float) -> None:
        self.provider = provider
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.started = time.monotonic()
        self.requests = 0
        self.accepted_calls = 0
        self.over_limit = 0
        self.in_flight = 0
        self.max_parallel = 0
        self.refusals: Counter[str] = Counter()
        self.request_times: list[float] = []
        # (address, unix time, text hash): tuples, not Accepted, to keep the hot path cheap.
        self.messages: list[tuple[str, float, str]] = []

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def begin(self) -> int:
        """Count a request that arrived; returns how many of this provider's are now in flight."""
        now = time.monotonic()
        with self._lock:
            self.requests += 1
            self.request_times.append(now - self.started)
            self.in_flight += 1
            if self.in_flight > self.max_parallel:
                self.max_parallel = self.in_flight
            return self.in_flight

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def refuse(self, reason: str, *, over_limit: bool = False) -> None:
        with self._lock:
            self.refusals[reason] += 1
            self.over_limit += over_limit

    def note_over_limit(self) -> None:
        """A request crossed a published limit and was let through (limits are off)."""
        with self._lock:
            self.over_limit += 1

    def accept(self, addresses: list[str], hashes: list[str]) -> None:
        """Record the messages of one accepted call (one hash per address).

        A call is a request, or one command of a Bitrix24 batch.
        """
        now = time.time()
        records = [
            (address, now, digest) for address, digest in zip(addresses, hashes, strict=True)
        ]
        with self._lock:
            self.accepted_calls += 1
            self.messages.extend(records)

    def accepted(self) -> list[Accepted]:
        with self._lock:
            records = list(self.messages)
        return [Accepted(self.provider, address, at, digest) for address, at, digest in records]

    def stats(self) -> dict:
        """This provider's counts as JSON-able values.

        A duplicate is a message with the same address and text as one accepted before it.
        `requests_per_window` counts every request that arrived, by window since the last reset.
        """
        with self._lock:
            messages = list(self.messages)
            times = list(self.request_times)
            counts = {
                "requests": self.requests,
                "accepted_calls": self.accepted_calls,
                "refusals": dict(self.refusals),
                "over_limit": self.over_limit,
                "max_parallel": self.max_parallel,
            }
        distinct = len({(address, digest) for address, _, digest in messages})
        per_window: list[int] = []
        for moment in times:
            index = int(moment / self.window_seconds)
            if index >= len(per_window):
                per_window.extend([0] * (index + 1 - len(per_window)))
            per_window[index] += 1
        return {
            **counts,
            "messages": len(messages),
            "distinct": distinct,
            "duplicates": len(messages) - distinct,
            "distinct_addresses": len({address for address, _, _ in messages}),
            "window_seconds": self.window_seconds,
            "requests_per_window": per_window,
            "max_requests_per_window": max(per_window, default=0),
        }
