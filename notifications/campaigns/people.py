"""A campaign's people, counted once each, and how materialisation would treat them; the
counts kept on the campaign with their age, so pages read them instead of counting a million
people on every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, FilteredRelation, Q
from django.utils import timezone

from notifications.audiences.query import audiences_q
from notifications.campaigns.capped import NOBODY_CAPPED, CapForecast, recipients_at_caps
from notifications.campaigns.caps import counts_against_caps
from notifications.campaigns.selectors import campaign_people
from notifications.models import Campaign, Recipient
from notifications.providers.registry import provider_class
from notifications.recipients.selectors import reachable_recipients

# How old a draft's kept people counts may be before a page that shows them counts again.
PEOPLE_COUNT_MAX_AGE = timedelta(minutes=5)
# The dispatch confirmation counts afresh; its question and its plan are two reads of one count.
CONFIRMATION_MAX_AGE = timedelta(seconds=30)


@dataclass(frozen=True)
class PeopleCounts:
    """A campaign's people and how materialisation would treat them, when they were counted.

    Each person is counted once however many of its audiences hold them, and in one reason
    only, in materialisation's order: excluded, opted out, no address.
    """

    people: int
    excluded: int
    opted_out: int
    no_address: int
    counted_at: datetime
    # Who of the reachable a frequency cap held when counted, were the campaign's caps on
    # (`capped.capped_of` applies its own setting): counting them takes as long as the rest.
    at_caps: CapForecast = NOBODY_CAPPED

    @property
    def reachable(self) -> int:
        return self.people - self.excluded - self.opted_out - self.no_address


def campaign_people_count(*, campaign: Campaign) -> PeopleCounts:
    """Count a campaign's people now (one aggregate query) and keep the counts on it, with
    their time and channel, for the pages that show them (`campaign_people_counts`).

    The channel's address is a LEFT JOIN on (recipient, channel), unique, so each person is one
    row (a second query over the addresses took 1.6 s of 2.7 at a million people). Imshop
    addresses default to the recipient's own external_id: no one lacks one there.
    """
    now = timezone.now()
    people = campaign_people(campaign).annotate(
        channel_address=FilteredRelation(
            "addresses", condition=Q(addresses__channel=campaign.channel)
        )
    )
    excluded_audiences = list(campaign.excluded_audiences.all())
    excluded = Q(pk__in=[])
    if excluded_audiences:
        # By id, as materialisation does (see `recipients_by_reach`).
        excluded = Q(pk__in=Recipient.objects.filter(audiences_q(excluded_audiences)).values("pk"))
    kept = ~excluded if excluded_audiences else Q()
    counts = people.aggregate(
        people=Count("pk"),
        excluded=Count("pk", filter=excluded),
        opted_out=Count("pk", filter=kept & Q(opted_out_at__isnull=False)),
        with_address=Count("channel_address", filter=kept & Q(opted_out_at__isnull=True)),
    )
    no_address = 0
    if not provider_class(campaign.channel).external_id_is_default_address:
        no_address = (
            counts["people"] - counts["excluded"] - counts["opted_out"] - counts["with_address"]
        )
    kept_counts = {
        "channel": campaign.channel,
        "people": counts["people"],
        "excluded": counts["excluded"],
        "opted_out": counts["opted_out"],
        "no_address": no_address,
        "at_caps": _forecast_kept(campaign, now),
    }
    Campaign.objects.filter(pk=campaign.pk).update(people_counts=kept_counts, people_counted_at=now)
    campaign.people_counts, campaign.people_counted_at = kept_counts, now
    return _people_counts(campaign)


def campaign_people_counts(
    *, campaign: Campaign, max_age: timedelta = PEOPLE_COUNT_MAX_AGE
) -> PeopleCounts:
    """A campaign's kept people counts, counted again first when older than `max_age` or kept
    for another channel."""
    kept, counted_at = campaign.people_counts, campaign.people_counted_at
    if (
        not kept
        or counted_at is None
        or kept.get("channel") != campaign.channel
        or timezone.now() - counted_at > max_age
    ):
        return campaign_people_count(campaign=campaign)
    return _people_counts(campaign)


def _people_counts(campaign: Campaign) -> PeopleCounts:
    kept = campaign.people_counts
    at_caps = kept.get("at_caps") or {}
    return PeopleCounts(
        people=kept["people"],
        excluded=kept["excluded"],
        opted_out=kept["opted_out"],
        no_address=kept["no_address"],
        counted_at=campaign.people_counted_at,
        at_caps=CapForecast(
            at_caps.get("count", 0),
            at_caps.get("policies", 0),
            *(
                datetime.fromisoformat(at_caps[edge]) if at_caps.get(edge) else None
                for edge in ("first_allowed", "last_allowed")
            ),
        ),
    )


def _forecast_kept(campaign: Campaign, now: datetime) -> dict:
    """Who of a marketing campaign's reachable is at a cap now, as the kept counts hold it."""
    if not counts_against_caps(campaign):
        return {}
    reachable = reachable_recipients(
        campaign_people(campaign), campaign.channel, excluded=campaign.excluded_audiences.all()
    )
    forecast = recipients_at_caps(reachable, campaign.channel, now)
    return {
        "count": forecast.count,
        "policies": forecast.policies,
        "first_allowed": forecast.first_allowed and forecast.first_allowed.isoformat(),
        "last_allowed": forecast.last_allowed and forecast.last_allowed.isoformat(),
    }
