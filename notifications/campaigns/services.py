"""Creating, changing and deleting draft campaigns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from notifications.campaigns.lifecycle import TransitionError, _locked, _refuse
from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.save import _save_fields
from notifications.models import (
    Audience,
    Campaign,
)


def campaign_save(
    *,
    campaign_id: int | None,
    data: dict[str, Any],
    audiences: Iterable[Audience] | None = None,
    user: Any = None,
) -> Campaign:
    """Create a draft campaign, or change one that is still a draft (else TransitionError).

    Only the fields in `data` are written, under the campaign's lock: workers and transitions
    write the others (status, heartbeat, pause reason), and their changes stay.
    """
    with transaction.atomic():
        if campaign_id is None:
            campaign = Campaign(created_by=user if getattr(user, "pk", None) else None)
        else:
            campaign = _locked(campaign_id)
            if campaign.status != Campaign.Status.DRAFT:
                raise _refuse(campaign, "change")
        _save_fields(campaign, data)
        if audiences is not None:
            campaign.audiences.set(audiences)
        if campaign.sendios_project_id is not None:
            # SMS callbacks that arrived before the campaign had these Sendios ids.
            sms_events_link_pending(campaign_ids=[campaign.pk])
    return campaign


def campaign_delete(*, campaign_id: int) -> None:
    """Delete a draft campaign; one that was dispatched keeps its history (TransitionError).

    So do its test sends: they went out to real people, and a deletion would take them along.
    """
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise _refuse(campaign, "delete")
        if campaign.test_sends.exists():
            raise TransitionError(
                f"Cannot delete '{campaign.name}': its test sends went out and keep their history."
            )
        campaign.delete()
