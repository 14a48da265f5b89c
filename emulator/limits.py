"""Every number the emulator enforces, in one place: the vendors' published limits and what we
assume where they publish nothing (marked ASSUMED, as in ../shared/providers/CONTRACTS.md).

Durations are the vendors' real ones; `Emulator(time_scale=...)` divides them, so a test can live
through Yandex Market's hour in a fraction of a second. Counts are never scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class ImshopLimits:
    """Imshop push: userIds per request and a rate of requests per window."""

    max_user_ids: int = 1000
    requests_per_window: int = 10
    window_seconds: float = MINUTE


@dataclass(frozen=True)
class LeadConverterLimits:
    """LeadConverter `broadcasting.sendMessageBatch`: items per batch.

    LeadConverter publishes no rate limit, so the emulator enforces none; `window_seconds` is only
    the width of the windows its requests are counted in for the stats.
    """

    max_batch_items: int = 100
    window_seconds: float = 1.0


@dataclass(frozen=True)
class YandexMarketLimits:
    """Yandex Market `chats/message`: per business, a fixed hourly quota and parallel requests."""

    requests_per_window: int = 1000
    window_seconds: float = HOUR
    max_parallel: int = 4
    min_text_length: int = 1
    max_text_length: int = 4096


@dataclass(frozen=True)
class Bitrix24Limits:
    """Bitrix24 cloud portal: a leaky bucket per portal, batch size and OAuth lifetimes."""

    bucket_capacity: int = 50
    drain_per_second: float = 2.0
    max_batch_commands: int = 50
    access_token_seconds: float = HOUR
    refresh_token_seconds: float = 180 * DAY
    authorization_code_seconds: float = 30.0
    # The stats count requests per second: the drain rate's own window.
    window_seconds: float = 1.0


IMSHOP = ImshopLimits()
LEADCONVERTER = LeadConverterLimits()
YANDEX_MARKET = YandexMarketLimits()
BITRIX24 = Bitrix24Limits()

# ASSUMED: Imshop documents the rate but not its answer when the rate is crossed. Its error
# bodies are hapi/Boom's (`{"error": "Bad Request", "message": ...}`), so the emulator answers as
# hapi's rate limiter does: HTTP 429 "Too Many Requests" with Retry-After.
IMSHOP_LIMIT_STATUS = 429

# Largest id Yandex Market, LeadConverter and Bitrix24 accept (int64).
MAX_ID = 2**63 - 1
