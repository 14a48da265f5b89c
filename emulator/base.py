"""What the four provider services share: the behaviour switches and the service's shape."""

from __future__ import annotations

import abc
import random
import threading
import time
from dataclasses import dataclass, field

from .recorder import Tally
from .wire import Reply, Request


@dataclass(frozen=True)
class Behaviour:
    """How the emulator bends reality: time scale, injected failures, limits on or off.

    `time_scale` divides every vendor duration (60 makes a minute last a second); `fail_rate` is
    the fraction of otherwise good requests answered with the vendor's transient error.
    """

    time_scale: float = 1.0
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    limits: bool = True
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")

    def seconds(self, published: float) -> float:
        """A vendor's duration as it passes in the emulator."""
        return published / self.time_scale

    def pause(self) -> None:
        """The time the vendor takes to answer."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def fails(self) -> bool:
        """Whether this request draws the injected transient failure."""
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate


class Service(abc.ABC):
    """One provider's API: answers the paths it owns and records what it accepted."""

    name: str

    def __init__(self, behaviour: Behaviour, window_seconds: float) -> None:
        self.behaviour = behaviour
        self.tally = Tally(self.name, behaviour.seconds(window_seconds))
        # Guards the service's own limiter state; never held while answering.
        self.lock = threading.Lock()

    @abc.abstractmethod
    def owns(self, path: str) -> bool:
        """Whether `path` is one of this provider's."""

    def handle(self, request: Request) -> Reply:
        """Answer a request to one of this provider's paths, counting it while it is served."""
        misrouted = self.route(request)
        if misrouted is not None:
            return misrouted
        in_flight = self.tally.begin()
        try:
            self.behaviour.pause()
            return self.answer(request, in_flight)
        finally:
            self.tally.end()

    def route(self, request: Request) -> Reply | None:
        """The answer for a path or method this provider does not serve, else None.

        Such requests are not the API's and are not counted.
        """
        return None

    @abc.abstractmethod
    def answer(self, request: Request, in_flight: int) -> Reply:
        """Answer an API request; `in_flight` counts this provider's requests being served,
        this one included, when it arrived."""

    def stats(self) -> dict:
        """What this provider recorded, as JSON-able values."""
        return self.tally.stats()

    def reset(self) -> None:
        """Forget what was recorded and the limiters' state (credentials stay valid)."""
        self.tally.reset()

    def crossed(self, reason: str) -> bool:
        """A request crossed a published limit: True when it must be refused (limits on).

        With limits off it goes through and is counted under `over_limit` only.
        """
        if self.behaviour.limits:
            self.tally.refuse(reason, over_limit=True)
            return True
        self.tally.note_over_limit()
        return False
