"""Limit fidelity: Yandex Market and Bitrix24 with their published limits on, time-scaled.

The emulator enforces the vendors' limits divided by a time scale (Yandex's 1,000 requests an
hour become 1,000 in 30 seconds at scale 120); our settings declare the same scaled limits, and
two send processes share them through the limiter. Each row is the request rate the emulator
saw after the allowed burst, as a share of the allowed rate (target >= 0.95), and the requests
that crossed a limit (target 0).
"""

from __future__ import annotations

from typing import Any

from .common import Row, ScratchDatabase, preferred_backend, scratch_database
from .dispatch import Emulator, _child, start_child, start_together

NAME = "limits"
# provider -> the time scale, the scaled limits in our settings' syntax, the allowed rate of
# requests per (scaled) second, and how many seconds after the start count as the burst.
CASES: dict[str, dict[str, Any]] = {
    "yandex_market": {
        # 1,000 requests an hour become 1,000 in 30 s: about 33 a second, one chat each.
        "time_scale": 120,
        "settings": {"YANDEX_MARKET_RATE": "2000/m", "YANDEX_MARKET_BURST": "1"},
        "allowed_per_second": 1000 / (3600 / 120),
        "burst": 1,
        "recipients": 3_000,
        "smoke_recipients": 100,
    },
    "bitrix24": {
        "time_scale": 5,
        # The bucket drains 2 calls a second and holds 50: scaled, 10 a second.
        "settings": {"BITRIX24_RATE": "10/s", "BITRIX24_BURST": "50"},
        "allowed_per_second": 2 * 5,
        "burst": 50,
        "recipients": 25_000,
        "smoke_recipients": 3_000,
    },
}
WORKERS = 2


def run(*, smoke: bool) -> list[Row]:
    rows = []
    for provider, case in CASES.items():
        count = case["smoke_recipients" if smoke else "recipients"]
        label = f"{provider}, time scale {case['time_scale']}, {count:,} recipients"
        try:
            with (
                Emulator(time_scale=case["time_scale"], limits=True) as emulator,
                scratch_database(preferred_backend(), label="limits") as database,
            ):
                rows.append(_measure(database, emulator, provider, case, count, label))
        except Exception as error:
            rows.append(Row.failure(NAME, error, case=label))
    return rows


def _measure(
    database: ScratchDatabase,
    emulator: Emulator,
    provider: str,
    case: dict[str, Any],
    count: int,
    label: str,
) -> Row:
    env = database.env(
        **emulator.settings,
        **case["settings"],
        VESTNIK_RATE_LIMITS_ENABLED="True",
        REDIS_URL="",
        LOG_LEVEL="ERROR",
    )
    _child(database, env, "prepare", "--count", str(count))
    campaign = _child(database, env, "campaign", "--channel", provider, "--all")["campaign"]
    emulator.reset()
    children = [start_child(env, "materialise", "--campaign", str(campaign))]
    children += [start_child(env, "send", "--campaign", str(campaign)) for _ in range(WORKERS)]
    start_together(children)
    stats = emulator.stats()["providers"][provider]
    moments = [message["at"] for message in emulator.messages(provider)]
    seconds = max(moments) - min(moments)
    if seconds <= 0 or stats["requests"] < 3:
        raise RuntimeError(f"the run was too short to measure: {stats['requests']} requests")
    # An ideal client of a limit that starts with a full bucket sends `burst` at once, then
    # `rate` a second: what is left after the burst, against the rate, is the fidelity.
    allowed = case["allowed_per_second"]
    rate = (stats["requests"] - case["burst"]) / seconds
    violations = stats["over_limit"]
    fidelity = rate / allowed
    return Row(
        benchmark=NAME,
        case=label,
        backend=database.backend,
        value=fidelity,
        unit="of allowed",
        ceiling=1.0,
        target=">= 0.95, 0 violations",
        met=fidelity >= 0.95 and violations == 0,
        extra=(
            f"{rate:.1f} of {allowed:.0f} requests/s after the burst, over {seconds:.0f} s; "
            f"{violations} over the limit; refusals {stats['refusals'] or 'none'}; "
            f"{stats['duplicates']} duplicates"
        ),
    )
