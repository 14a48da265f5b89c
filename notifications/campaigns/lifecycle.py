"""The campaign lifecycle: the moves themselves (dispatch, pause, resume, cancel, retry,
resend, complete), each recorded in the campaign's history.

Every move locks the campaign and asks `campaign_lock` whether the table of what each status
allows (`actions.py`) lets it through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.materialise import campaign_materialise
from notifications.campaigns.preflight import campaign_preflight
from notifications.campaigns.versions import content_version_add
from notifications.content.rendering import template_fields
from notifications.errors import NotFound, StateConflict
from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.reasons import reason_encode
from notifications.sending.counters import counters_add, counters_move
from notifications.sending.wake import enqueue, enqueue_senders


def campaign_lock(campaign_id: int, action: Action | None = None) -> Campaign:
    """The campaign, locked for this transaction; refused unless the lifecycle allows `action`.

    Raises NotFound when there is no such campaign, StateConflict when `action` is not allowed.
    """
    # NO KEY UPDATE: a worker committing rows that reference the campaign takes KEY SHARE on it
    # for the foreign key check; a plain FOR UPDATE would make that worker wait on us while we
    # wait on its rows (a deadlock the worker tests found).
    try:
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise NotFound(gettext("Campaign %(id)s does not exist.") % {"id": campaign_id}) from None
    if action is not None and not campaign_allows(campaign, action):
        raise StateConflict(refusal_sentence(campaign, action))
    return campaign


def campaign_move(campaign: Campaign, status: str, *, user: Any = None, note: str = "") -> None:
    """Set the campaign's status (the caller saves it, in its transaction) and record the move
    in its history, in the same transaction: the `campaign_status` event integrations are told
    of (outbound webhooks read the history as their outbox, so a move is never lost)."""
    previous, campaign.status = campaign.status, status
    if previous == status:
        return
    DeliveryEvent.objects.create(
        type=DeliveryEvent.Type.CAMPAIGN_STATUS,
        campaign_id=campaign.pk,
        detail=note,
        data={
            "status": status,
            "previous": previous,
            "by": getattr(user, "get_username", lambda: "")(),
        },
    )


def campaign_dispatch(
    *, campaign_id: int, user: Any = None, scheduled_at: datetime | None = None
) -> Campaign:
    """Send a draft campaign now, or at `scheduled_at`; content and audience freeze here."""
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.DISPATCH)
        now = timezone.now()
        if scheduled_at is not None and scheduled_at <= now:
            scheduled_at = None
        if campaign.template is not None:
            campaign.content = template_fields(campaign.template)
        check = campaign_preflight(campaign=campaign)
        if check.errors:
            raise StateConflict(" ".join(check.errors))
        campaign.scheduled_at = scheduled_at or campaign.scheduled_at
        if campaign.scheduled_at and campaign.scheduled_at > now:
            campaign_move(campaign, Campaign.Status.SCHEDULED, user=user)
        else:
            campaign_move(campaign, Campaign.Status.RUNNING, user=user)
            campaign.started_at = now
        campaign.dispatched_at = now
        # The materialisation task about to be queued counts as the campaign's live worker,
        # so the tick does not queue a second one while it runs.
        campaign.worker_seen_at = now
        campaign.dispatched_by = user if getattr(user, "pk", None) else None
        campaign.pause_reason = campaign.pause_cause = ""
        content_version_add(campaign, campaign.content, template=campaign.template, user=user)
        campaign.save()
        enqueue(campaign_materialise, campaign_id=campaign.pk)
    return campaign


def campaigns_start_due() -> list[int]:
    """Start scheduled campaigns whose time has come."""
    started = []
    due = Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for campaign_id in due:
        with transaction.atomic():
            campaign = campaign_lock(campaign_id)
            if campaign.status != Campaign.Status.SCHEDULED:
                continue
            campaign_move(
                campaign, Campaign.Status.RUNNING, note=reason_encode("scheduled_time_came")
            )
            campaign.started_at = timezone.now()
            campaign.save(update_fields=["status", "started_at", "updated_at"])
            if campaign.materialised_at is not None:
                enqueue_senders(campaign_id)
            started.append(campaign_id)
    return started


def campaign_pause(
    *,
    campaign_id: int,
    user: Any = None,
    reason: str = "",
    cause: str = Campaign.PauseCause.STAFF,
) -> Campaign:
    """Stop new sends at once. Requests already under way finish and are recorded.

    `cause` says who paused: staff (the default), or the engine itself (`PauseCause`), whose
    pause the pages show as an alert with `reason`.
    """
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.PAUSE)
        who = getattr(user, "get_username", lambda: "")()
        campaign.pause_reason = reason or (
            reason_encode("paused_by", who=who) if who else reason_encode("paused")
        )
        campaign_move(campaign, Campaign.Status.PAUSED, user=user, note=campaign.pause_reason)
        campaign.pause_cause = cause
        campaign.paused_at = timezone.now()
        campaign.save(
            update_fields=["status", "pause_reason", "pause_cause", "paused_at", "updated_at"]
        )
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
        campaign = campaign_lock(campaign_id, Action.RESUME)
        now = timezone.now()
        if campaign.started_at is None and campaign.scheduled_at and campaign.scheduled_at > now:
            campaign_move(campaign, Campaign.Status.SCHEDULED, user=user)
        else:
            campaign_move(campaign, Campaign.Status.RUNNING, user=user)
            campaign.started_at = campaign.started_at or now
        campaign.pause_reason = campaign.pause_cause = ""
        campaign.consecutive_failures = 0
        campaign.save()
        if campaign.status == Campaign.Status.RUNNING:
            if campaign.materialised_at is None:
                enqueue(campaign_materialise, campaign_id=campaign.pk)
            else:
                enqueue_senders(campaign.pk)
    return campaign


def campaign_cancel(*, campaign_id: int, user: Any = None) -> Campaign:
    """Stop for good: what has not gone out is cancelled; nothing starts after this returns."""
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.CANCEL)
        campaign_move(campaign, Campaign.Status.CANCELLED, user=user)
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


def _requeue(*, campaign_id: int, source: str, action: Action, user: Any = None) -> int:
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, action)
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
            campaign_move(
                campaign,
                Campaign.Status.RUNNING,
                user=user,
                note=reason_encode("to_send_again", count=count),
            )
            campaign.finished_at = None
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
        if count and campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return count


def campaign_retry_failed(*, campaign_id: int, user: Any = None) -> int:
    """Send the failed deliveries again; returns how many."""
    return _requeue(
        campaign_id=campaign_id,
        source=Delivery.Status.FAILED,
        action=Action.RETRY_FAILED,
        user=user,
    )


def campaign_resend_unknown(*, campaign_id: int, user: Any = None) -> int:
    """Send again the deliveries whose fate is unknown (some may arrive twice); how many."""
    return _requeue(
        campaign_id=campaign_id,
        source=Delivery.Status.UNKNOWN,
        action=Action.RESEND_UNKNOWN,
        user=user,
    )


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign completed when nothing is left pending or in flight."""
    with transaction.atomic():
        campaign = campaign_lock(campaign_id)
        if campaign.status != Campaign.Status.RUNNING or campaign.materialised_at is None:
            return False
        open_work = Delivery.objects.filter(
            campaign_id=campaign_id,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).exists()
        if open_work:
            return False
        campaign_move(campaign, Campaign.Status.COMPLETED)
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
    return True
