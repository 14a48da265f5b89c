"""The campaign lifecycle: which moves each state allows, and the moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.campaigns.preflight import campaign_preflight
from notifications.content.rendering import template_fields
from notifications.counters import counters_add, counters_move
from notifications.models import (
    Campaign,
    Delivery,
)
from notifications.queue import enqueue, enqueue_senders


class TransitionError(Exception):
    """A campaign cannot make this move now; the message says why, for staff and the API."""


_PAUSABLE = {Campaign.Status.SCHEDULED, Campaign.Status.RUNNING}


_CANCELLABLE = {
    Campaign.Status.DRAFT,
    Campaign.Status.SCHEDULED,
    Campaign.Status.RUNNING,
    Campaign.Status.PAUSED,
}


def _locked(campaign_id: int) -> Campaign:
    # NO KEY UPDATE: a worker committing rows that reference the campaign takes KEY SHARE on it
    # for the foreign key check; a plain FOR UPDATE would make that worker wait on us while we
    # wait on its rows (a deadlock the worker tests found).
    try:
        return Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise TransitionError(f"Campaign {campaign_id} does not exist.") from None


def _refuse(campaign: Campaign, action: str) -> TransitionError:
    return TransitionError(
        f"Cannot {action} '{campaign.name}': it is {campaign.get_status_display().lower()}."
    )


def campaign_dispatch(
    *, campaign_id: int, user: Any = None, scheduled_at: datetime | None = None
) -> Campaign:
    """Send a draft campaign now, or at `scheduled_at`; content and audience freeze here."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise _refuse(campaign, "dispatch")
        now = timezone.now()
        if scheduled_at is not None and scheduled_at <= now:
            scheduled_at = None
        if campaign.template is not None:
            campaign.content = template_fields(campaign.template)
        check = campaign_preflight(campaign=campaign)
        if check.errors:
            raise TransitionError(" ".join(check.errors))
        campaign.scheduled_at = scheduled_at or campaign.scheduled_at
        if campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
        else:
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = now
        campaign.dispatched_at = now
        # The materialisation task about to be queued counts as the campaign's live worker,
        # so the tick does not queue a second one while it runs.
        campaign.worker_seen_at = now
        campaign.dispatched_by = user if getattr(user, "pk", None) else None
        campaign.pause_reason = ""
        campaign.save()
        enqueue("materialise_campaign", campaign.pk)
    return campaign


def campaigns_start_due() -> list[int]:
    """Start scheduled campaigns whose time has come."""
    started = []
    due = Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for campaign_id in due:
        with transaction.atomic():
            campaign = _locked(campaign_id)
            if campaign.status != Campaign.Status.SCHEDULED:
                continue
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = timezone.now()
            campaign.save(update_fields=["status", "started_at", "updated_at"])
            if campaign.materialised_at is not None:
                enqueue_senders(campaign_id)
            started.append(campaign_id)
    return started


def campaign_pause(*, campaign_id: int, user: Any = None, reason: str = "") -> Campaign:
    """Stop new sends at once. Requests already under way finish and are recorded."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in _PAUSABLE:
            raise _refuse(campaign, "pause")
        campaign.status = Campaign.Status.PAUSED
        who = getattr(user, "get_username", lambda: "")()
        campaign.pause_reason = reason or (f"Paused by {who}." if who else "Paused.")
        campaign.save(update_fields=["status", "pause_reason", "updated_at"])
        _take_back_claims(campaign_id, Delivery.Status.PENDING)
    return campaign


def _take_back_claims(campaign_id: int, status: str, *, count: bool = True) -> int:
    """Claimed deliveries whose request has not begun: out of the workers' hands, to `status`.

    With `count=False` the caller adds the move to the counters itself, with its other moves.
    """
    taken = Delivery.objects.filter(
        campaign_id=campaign_id,
        status=Delivery.Status.SENDING,
        request_started_at__isnull=True,
    ).update(status=status, claim_token=None, lease_expires_at=None, updated_at=timezone.now())
    if count:
        counters_move(
            campaign_id=campaign_id, source=Delivery.Status.SENDING, target=status, count=taken
        )
    return taken


def campaign_resume(*, campaign_id: int, user: Any = None) -> Campaign:
    """Continue a paused campaign where it stopped."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.PAUSED:
            raise _refuse(campaign, "resume")
        now = timezone.now()
        if campaign.started_at is None and campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
        else:
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = campaign.started_at or now
        campaign.pause_reason = ""
        campaign.consecutive_failures = 0
        campaign.save()
        if campaign.status == Campaign.Status.RUNNING:
            if campaign.materialised_at is None:
                enqueue("materialise_campaign", campaign.pk)
            else:
                enqueue_senders(campaign.pk)
    return campaign


def campaign_cancel(*, campaign_id: int, user: Any = None) -> Campaign:
    """Stop for good: what has not gone out is cancelled; nothing starts after this returns."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in _CANCELLABLE:
            raise _refuse(campaign, "cancel")
        campaign.status = Campaign.Status.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        # Pending rows first, claims second. A worker's claim that holds rows this UPDATE
        # reaches makes it wait, and they are `sending` when it goes on; taking claims back
        # afterwards (a new statement, seeing that claim) cancels them too. In the other order
        # they escaped both, and the worker's release put them back to pending (found by the
        # worker test with real clusters).
        cancelled = Delivery.objects.filter(
            campaign_id=campaign_id, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.CANCELLED, updated_at=timezone.now())
        taken = _take_back_claims(campaign_id, Delivery.Status.CANCELLED, count=False)
        # Counters last and once per transaction, like every other writer: touching them between
        # delivery updates deadlocks against a worker's claim.
        counters_add(
            campaign_id=campaign_id,
            deltas={
                Delivery.Status.SENDING: -taken,
                Delivery.Status.PENDING: -cancelled,
                Delivery.Status.CANCELLED: taken + cancelled,
            },
        )
    return campaign


def _requeue(*, campaign_id: int, source: str, action: str) -> int:
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in {
            Campaign.Status.RUNNING,
            Campaign.Status.PAUSED,
            Campaign.Status.COMPLETED,
        }:
            raise _refuse(campaign, action)
        count = Delivery.objects.filter(campaign_id=campaign_id, status=source).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        counters_move(
            campaign_id=campaign_id, source=source, target=Delivery.Status.PENDING, count=count
        )
        if count and campaign.status == Campaign.Status.COMPLETED:
            campaign.status = Campaign.Status.RUNNING
            campaign.finished_at = None
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
        if count and campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return count


def campaign_retry_failed(*, campaign_id: int, user: Any = None) -> int:
    """Send the failed deliveries again; returns how many."""
    return _requeue(campaign_id=campaign_id, source=Delivery.Status.FAILED, action="retry")


def campaign_resend_unknown(*, campaign_id: int, user: Any = None) -> int:
    """Send again the deliveries whose fate is unknown (some may arrive twice); how many."""
    return _requeue(campaign_id=campaign_id, source=Delivery.Status.UNKNOWN, action="resend")


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign completed when nothing is left pending or in flight."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.RUNNING or campaign.materialised_at is None:
            return False
        open_work = Delivery.objects.filter(
            campaign_id=campaign_id,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).exists()
        if open_work:
            return False
        campaign.status = Campaign.Status.COMPLETED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
    return True
