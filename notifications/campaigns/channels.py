"""What staff see of each channel on the providers page.

Whether it is configured, its limits, its last quota answer and its last error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from notifications.campaigns.plan import channel_limits
from notifications.models import (
    Campaign,
    Channel,
    DeliveryCounter,
    DeliveryEvent,
    ProviderQuota,
)
from notifications.providers.exceptions import ProviderError
from notifications.providers.limits import Limits
from notifications.providers.registry import build_provider, channel_status
from notifications.reasons import reason_text


@dataclass(frozen=True)
class ProviderOverview:
    """What staff see of one provider: never a secret."""

    channel: str
    label: str
    configured: bool
    reason: str
    account: str
    limits: Limits | None
    requests_available_now: int | None
    next_request_in: float | None
    hold_seconds_left: float | None
    hold_reason: str
    in_flight: int | None
    reported_quota: ProviderQuota | None
    last_error: str
    last_error_at: datetime | None
    last_error_campaign: Campaign | None


def providers_overview() -> list[ProviderOverview]:
    """Every channel's configuration, limits, the shared limiter's state and the last error."""
    from notifications.sending.limiter import Rule, get_limiter

    limiter = get_limiter()
    quotas = {quota.key: quota for quota in ProviderQuota.objects.all()}
    overview = []
    for channel in Channel:
        configured, reason = channel_status(channel)
        limits = channel_limits(channel)
        account, available, next_in, hold_left, hold_reason, in_flight = (
            "",
            None,
            None,
            None,
            "",
            None,
        )
        try:
            provider = build_provider(channel)
        except (ProviderError, ValueError):
            provider = None
        if provider is not None and limits is not None:
            account = provider.account
            state = limiter.state(f"{channel}:{provider.account}")
            now = time.time()
            rule = Rule.from_limits(limits)
            backlog = max(0.0, state.next_start - now)
            # GCRA: the bucket holds `burst` requests and drains one per interval.
            available = max(0, min(limits.burst, limits.burst - int(-(-backlog // rule.interval))))
            next_in = max(0.0, state.next_start - (limits.burst - 1) * rule.interval - now)
            if state.hold_until > now:
                hold_left, hold_reason = state.hold_until - now, reason_text(state.hold_reason)
                available, next_in = 0, max(next_in, hold_left)
            in_flight = state.in_flight
        error, error_at, error_campaign = _last_error(channel)
        overview.append(
            ProviderOverview(
                channel=channel,
                label=Channel(channel).label,
                configured=configured,
                reason=reason,
                account=account,
                limits=limits,
                requests_available_now=available,
                next_request_in=next_in,
                hold_seconds_left=hold_left,
                hold_reason=hold_reason,
                in_flight=in_flight,
                reported_quota=quotas.get(f"{channel}:{account}") if account else None,
                last_error=error,
                last_error_at=error_at,
                last_error_campaign=error_campaign,
            )
        )
    return overview


LAST_ERROR_CAMPAIGNS = 5


def _last_error(channel: str) -> tuple[str, datetime | None, Campaign | None]:
    """The newest provider error on `channel`: a failed or unknown delivery event of one of its
    latest campaigns that have any (known from the counters), or a pause by the system."""
    recent = list(
        Campaign.objects.filter(channel=channel, started_at__isnull=False).order_by("-started_at")[
            :LAST_ERROR_CAMPAIGNS
        ]
    )
    troubled = set(
        DeliveryCounter.objects.filter(
            campaign__in=recent, status__in=["failed", "unknown"], count__gt=0
        ).values_list("campaign_id", flat=True)
    )
    best: tuple[str, datetime | None, Campaign | None] = ("", None, None)
    for campaign in recent:
        if (
            campaign.status == Campaign.Status.PAUSED
            and campaign.pause_reason
            and campaign.pause_cause != Campaign.PauseCause.STAFF
        ):
            candidate = (reason_text(campaign.pause_reason), campaign.updated_at, campaign)
            if best[1] is None or candidate[1] > best[1]:
                best = candidate
        if campaign.pk in troubled:
            event = (
                DeliveryEvent.objects.filter(
                    campaign_id=campaign.pk, type__in=["failed", "unknown"]
                )
                .exclude(detail="")
                .order_by("-occurred_at")
                .first()
            )
            if event is not None and (best[1] is None or event.occurred_at > best[1]):
                best = (f"{event.type}: {reason_text(event.detail)}", event.occurred_at, campaign)
    return best
