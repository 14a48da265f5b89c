"""The send loop: claim due deliveries, render, wait for a turn, send, record.

One run works until nothing is due or its time budget is spent. The guarantees about who holds
a delivery and what survives a dead worker are the claims' (`notifications.sending.claims`).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from notifications.campaigns.caps import CapCheck
from notifications.campaigns.lifecycle import campaign_pause
from notifications.providers.exceptions import NoPermit, ProviderConfigurationError
from notifications.providers.values import (
    Content,
    OutboundMessage,
    QuotaInfo,
    ResultStatus,
    SendResult,
)
from notifications.reasons import reason_encode

from ..models import Campaign, Delivery, ProviderQuota
from ..providers.base import Provider
from .breaker import breaker_trips, last_error
from .claims import deliveries_claim, deliveries_release
from .holds import Deferred, QuietHours, request_start
from .leases import Lease, deliveries_expire_leases
from .limiter import Limiter, get_limiter
from .messages import claimed_render
from .outcomes import deliveries_record
from .permits import REPEAT_MAX_WAIT_SECONDS, repeat_permit, turn

Status = Delivery.Status
MAX_CLAIM = 1000
# Claim what the provider's limits let us send in about this many seconds.
CLAIM_HORIZON_SECONDS = 10
# A delivery due within this many seconds is waited for; one due later is left to the tick.
SOON_DUE_SECONDS = CLAIM_HORIZON_SECONDS


@dataclass
class SendReport:
    """What one run of the send loop did."""

    requests: int = 0
    outcomes: Counter = field(default_factory=Counter)
    stopped_because: str = ""
    more_work: bool = False


def campaign_send(
    *,
    campaign_id: int,
    provider: Provider,
    budget_seconds: float,
    limiter: Limiter | None = None,
) -> SendReport:
    """Send due deliveries of a running campaign until none is due or the budget is spent."""
    limiter = limiter or get_limiter()
    report = SendReport()
    deadline = time.monotonic() + budget_seconds
    read_timeout = settings.PROVIDER_READ_TIMEOUT
    lease_seconds = settings.VESTNIK_CLAIM_LEASE_SECONDS
    key = f"{provider.channel}:{provider.account}"
    limits = provider.limits
    claim_size = _claim_size(limits, limiter.enabled)
    after_id = 0
    next_sweep = time.monotonic()
    quiet: QuietHours | None = None
    while time.monotonic() < deadline:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Campaign.Status.RUNNING:
            report.stopped_because = "the campaign is not running"
            return report
        Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=timezone.now())
        if time.monotonic() >= next_sweep:
            # A dead sender's rows come back here, below the cursor: start from the bottom.
            if deliveries_expire_leases(campaign_id=campaign_id).get("released"):
                after_id = 0
            next_sweep = time.monotonic() + lease_seconds / 3
        token, claimed = deliveries_claim(
            campaign_id=campaign_id,
            limit=claim_size,
            lease_seconds=lease_seconds,
            after_id=after_id,
        )
        if not claimed and after_id:
            # Retries now due and rows other senders gave back may lie below the cursor.
            after_id = 0
            continue
        if not claimed:
            held_for = _others_hold_for(campaign_id)
            if held_for is None:
                due_in = _next_due_in(campaign_id)
                if (
                    due_in is None
                    or due_in > SOON_DUE_SECONDS
                    or due_in >= deadline - time.monotonic()
                ):
                    report.stopped_because = "nothing is due"
                    return report
                # Due in a moment (those let out at a window's opening come due one after
                # another at the provider's pace): wait for it rather than for the next tick.
                time.sleep(max(0.01, due_in))
                continue
            # Another sender holds rows that have not gone out. If it died, they come back when
            # its lease runs out, and this sender is there to send them; if it lives, it is
            # about to finish them, and this sender stops once it has.
            time.sleep(max(0.05, min(held_for, lease_seconds / 3, deadline - time.monotonic())))
            next_sweep = time.monotonic()
            continue
        after_id = claimed[-1].id
        attempts = {c.id: c.attempts for c in claimed}
        recipients = {c.id: c.recipient_id for c in claimed}
        # The window is frozen at dispatch: read once a run, with the zone for those without.
        quiet = quiet or QuietHours.of(campaign)
        # Read with every claim: a policy made meanwhile counts this run's next messages.
        caps = CapCheck.of(campaign)
        messages, failures, contents, waiting = claimed_render(campaign, claimed, quiet)
        if failures:
            # Render errors are the message's own fault: recorded without any request.
            report.outcomes.update(
                deliveries_record(
                    campaign_id=campaign_id,
                    token=token,
                    results=failures,
                    contents={},
                    recipients=recipients,
                    attempts=attempts,
                    content_version=campaign.content_version,
                )
            )
        deferred = Deferred()
        stop = _send_groups(
            campaign=campaign,
            caps=caps,
            deferred=deferred,
            provider=provider,
            limiter=limiter,
            key=key,
            token=token,
            lease=Lease(campaign_id=campaign_id, token=token, seconds=lease_seconds),
            groups=provider.plan(messages),
            deadline=deadline,
            read_timeout=read_timeout,
            contents=contents,
            recipients=recipients,
            attempts=attempts,
            report=report,
        )
        deliveries_release(
            campaign_id=campaign_id,
            token=token,
            waiting={**waiting, **deferred.due},
            reasons=deferred.reasons,
        )
        if stop:
            report.stopped_because = stop
            return report
    report.stopped_because = "the time budget is spent"
    report.more_work = True
    return report


def _next_due_in(campaign_id: int) -> float | None:
    """Seconds until the campaign's next pending delivery that is not due yet comes due."""
    first = Delivery.objects.filter(
        campaign_id=campaign_id, status=Status.PENDING, next_attempt_at__isnull=False
    ).aggregate(first=Min("next_attempt_at"))["first"]
    return None if first is None else (first - timezone.now()).total_seconds()


def _others_hold_for(campaign_id: int) -> float | None:
    """Seconds until the first lease on the campaign's claimed, not yet begun rows runs out."""
    first = Delivery.objects.filter(
        campaign_id=campaign_id, status=Status.SENDING, request_started_at__isnull=True
    ).aggregate(first=Min("lease_expires_at"))["first"]
    return None if first is None else (first - timezone.now()).total_seconds()


def _claim_size(limits, limited: bool) -> int:
    """Enough deliveries for the requests the limits allow soon, so claims are not hoarded."""
    if not limited:
        return MAX_CLAIM
    requests_soon = limits.burst + CLAIM_HORIZON_SECONDS * limits.rate_count / limits.rate_period
    return max(limits.batch_size, min(MAX_CLAIM, int(limits.batch_size * requests_soon)))


def _send_groups(
    *,
    campaign: Campaign,
    caps: CapCheck | None,
    deferred: Deferred,
    provider: Provider,
    limiter: Limiter,
    key: str,
    token: uuid.UUID,
    lease: Lease,
    groups: list[list[OutboundMessage]],
    deadline: float,
    read_timeout: float,
    contents: dict[int, Content],
    recipients: dict[int, int],
    attempts: dict[int, int],
    report: SendReport,
) -> str:
    """Send each group as one request; returns why the loop must stop, or "" to go on."""
    limits = provider.limits
    calls = provider.calls_per_send
    one_call = settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT
    # The slot is held through every call of a send (Bitrix24: the refused call, the token
    # refresh, the repeat and its short wait for a permit) and must not lapse to another sender.
    slot_lease = calls * one_call + (REPEAT_MAX_WAIT_SECONDS if calls > 1 else 0) + 30

    for group in groups:
        if time.monotonic() >= deadline:
            report.more_work = True
            return "the time budget is spent"
        lease.keep()
        # The budget already leaves room for the last request: a wait may use all of it.
        with turn(limiter, key, limits, lease, last_start=deadline, slot_lease=slot_lease) as stop:
            if stop:
                report.more_work = True
                return stop
            # Until a repeat renews them, the rows must outlast the calls before it.
            started = request_start(
                campaign=campaign,
                caps=caps,
                deferred=deferred,
                token=token,
                ids=[m.delivery_id for m in group],
                calls=max(1, calls - 1),
                recipients=recipients,
                attempts=attempts,
                outcomes=report.outcomes,
            )
            if not started:
                continue
            if len(started) < len(group):
                group = [m for m in group if m.delivery_id in started]
            for message in group:
                attempts[message.delivery_id] = attempts.get(message.delivery_id, 0) + 1
            permit = repeat_permit(
                limiter=limiter,
                key=key,
                limits=limits,
                lease=lease,
                campaign_id=campaign.pk,
                token=token,
                ids=[m.delivery_id for m in group],
                last_start=deadline,
            )
            try:
                outcome = provider.send(group, permit=permit)
            except ProviderConfigurationError as exc:
                deliveries_release(campaign_id=campaign.pk, token=token, started_too=True)
                _campaign_pause_for(
                    campaign.pk,
                    reason_encode(
                        "provider_configuration", channel=provider.channel, error=str(exc)
                    ),
                    Campaign.PauseCause.CONFIGURATION,
                )
                return "the provider refused our credentials or configuration"
            except NoPermit as stopped:
                # The provider's first request was refused as a whole (an expired token), and
                # its repeat found no permit or must not go: nothing was sent, so no attempt
                # was used.
                deliveries_release(campaign_id=campaign.pk, token=token, started_too=True)
                report.more_work = True
                return str(stopped)
            except Exception:
                # We cannot tell whether the request left: never risk sending it twice.
                _record_unknown(campaign, token, group, contents, recipients, attempts)
                raise
            if outcome.hold_until is not None:
                # Recorded before the slot frees, so no sender can slip in between.
                limiter.hold(
                    key,
                    until=outcome.hold_until.timestamp(),
                    reason=reason_encode("provider_asked_to_wait"),
                )
        report.requests += 1
        if outcome.quota is not None:
            _quota_record(key, outcome.quota)
        throttled = outcome.hold_until is not None and all(
            r.status == ResultStatus.RETRY for r in outcome.results
        )
        report.outcomes.update(
            deliveries_record(
                campaign_id=campaign.pk,
                token=token,
                results=outcome.results,
                contents=contents,
                recipients=recipients,
                attempts=attempts,
                throttled=throttled,
                content_version=campaign.content_version,
            )
        )
        if breaker_trips(campaign.pk, outcome, throttled):
            _campaign_pause_for(
                campaign.pk,
                reason_encode(
                    "breaker",
                    channel=provider.channel,
                    count=settings.VESTNIK_BREAKER_THRESHOLD,
                    error=last_error(outcome),
                ),
                Campaign.PauseCause.BREAKER,
            )
            return "the circuit breaker opened"
    return ""


def _quota_record(key: str, quota: QuotaInfo) -> None:
    """Keep the provider's own count for the provider status page."""
    ProviderQuota.objects.update_or_create(
        key=key,
        defaults={
            "limit": quota.limit,
            "remaining": quota.remaining,
            "resets_at": quota.resets_at,
            "seen_at": timezone.now(),
        },
    )


def _record_unknown(campaign, token, group, contents, recipients, attempts) -> None:
    deliveries_record(
        campaign_id=campaign.pk,
        token=token,
        results=[
            SendResult(m.delivery_id, ResultStatus.UNKNOWN, code="internal_error") for m in group
        ],
        contents=contents,
        recipients=recipients,
        attempts=attempts,
        content_version=campaign.content_version,
    )


def _campaign_pause_for(campaign_id: int, reason: str, cause: str) -> None:
    campaign_pause(campaign_id=campaign_id, reason=reason, user=None, cause=cause)
