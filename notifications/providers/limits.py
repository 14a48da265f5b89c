"""A provider's published limits as data, and the permit a provider asks for before a request.

Rates are written as in Django REST framework ("10/m"); the dispatch engine and the shared rate
limiter read `Limits`, and a provider that must make a further request within one send calls
its `Permit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext

RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Read a rate written as in Django REST framework ("10/m", "1000/h", "2/s").

    Returns (requests, period in seconds). The period's first letter counts, so "10/min" and
    "10/minute" mean the same as "10/m".
    """
    count, _, period = str(rate).strip().partition("/")
    period = period.strip().lower()
    if not count.strip().isdigit() or int(count) < 1 or period[:1] not in RATE_PERIODS:
        raise ValueError(
            gettext("%(rate)s is not a rate such as '10/m', '1000/h' or '2/s'")
            % {"rate": repr(rate)}
        )
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


# Called by a provider before every request to the account beyond the first of a `send()`:
# waits for the shared rate limiter's permit, or raises NoPermit.
Permit = Callable[[], None]


def unlimited() -> None:
    """A Permit that never waits: for sends outside the dispatch engine (tests, scripts)."""
