"""Where a campaign's numbers are read from: its deliveries and events, or, once retention
has begun to remove them (`retention`), the `CampaignSummary` kept before it did.

`campaigns_kept` is the one place that decides; the report, the timeline, the SMS clicks of the
list and the frequency-cap counts each ask it and read the summary for the campaigns it
returns. A summary exists exactly when `Campaign.details_removed_at` is set: both are written
in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from notifications.models import CampaignSummary

from .capped import CappedDeliveries, campaign_capped_deliveries


def campaigns_kept(*, campaign_ids: Iterable[int]) -> dict[int, CampaignSummary]:
    """The kept summaries of those campaigns whose details were removed, by campaign id."""
    return CampaignSummary.objects.in_bulk(list(campaign_ids))


def campaign_kept(*, campaign_id: int) -> CampaignSummary | None:
    """The campaign's kept summary, or None while its rows are what to read."""
    return campaigns_kept(campaign_ids=[campaign_id]).get(campaign_id)


def campaign_capped(*, campaign_id: int) -> CappedDeliveries:
    """`capped.campaign_capped_deliveries`, or what was kept of it: a finished campaign defers
    nothing any more, so only its skipped are kept."""
    kept = campaign_kept(campaign_id=campaign_id)
    if kept is None:
        return campaign_capped_deliveries(campaign_id=campaign_id)
    return CappedDeliveries(0, kept.capped_skipped, None)
