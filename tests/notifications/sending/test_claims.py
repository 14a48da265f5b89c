"""Claims and their leases: who holds a delivery, and what a late or lost worker still changes."""

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_pause
from notifications.models import Delivery, DeliveryEvent
from notifications.providers.values import ResultStatus, SendResult
from notifications.sending.claims import deliveries_claim, deliveries_start
from notifications.sending.leases import deliveries_expire_leases
from notifications.sending.outcomes import deliveries_record
from tests.notifications.flows import (
    counted_truth,
    dispatched,
    people,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def test_two_claims_never_hold_the_same_delivery():
    campaign = dispatched("leadconverter", people(10))
    _, first = deliveries_claim(campaign_id=campaign.pk, limit=6, lease_seconds=60)
    _, second = deliveries_claim(campaign_id=campaign.pk, limit=6, lease_seconds=60)
    assert len(first) == 6
    assert len(second) == 4
    assert not {c.id for c in first} & {c.id for c in second}
    assert statuses(campaign) == {"sending": 10} == counted_truth(campaign)


def test_a_claim_starts_after_the_senders_cursor():
    campaign = dispatched("leadconverter", people(6))
    ids = sorted(Delivery.objects.filter(campaign=campaign).values_list("id", flat=True))
    _, claimed = deliveries_claim(
        campaign_id=campaign.pk, limit=10, lease_seconds=60, after_id=ids[3]
    )
    assert [c.id for c in claimed] == ids[4:]


def test_a_request_that_began_before_pause_is_recorded_after_it():
    campaign = dispatched("leadconverter", people(2))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    ids = [c.id for c in claimed]
    assert deliveries_start(campaign_id=campaign.pk, token=token, ids=ids) == set(ids)
    campaign_pause(campaign_id=campaign.pk)
    deliveries_record(
        campaign_id=campaign.pk,
        token=token,
        results=[SendResult(i, ResultStatus.SENT) for i in ids],
        contents={},
        recipients={c.id: c.recipient_id for c in claimed},
        attempts=dict.fromkeys(ids, 1),
    )
    assert statuses(campaign) == {"sent": 2} == counted_truth(campaign)


def test_an_expired_lease_makes_begun_requests_unknown_and_returns_the_rest():
    campaign = dispatched("leadconverter", people(4))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=4, lease_seconds=60)
    begun = [c.id for c in claimed[:2]]
    deliveries_start(campaign_id=campaign.pk, token=token, ids=begun)
    Delivery.objects.filter(campaign=campaign).update(lease_expires_at=timezone.now())
    assert deliveries_expire_leases() == {"unknown": 2, "released": 2}
    assert statuses(campaign) == {"unknown": 2, "pending": 2} == counted_truth(campaign)
    # The worker wakes up late: its answer no longer counts.
    deliveries_record(
        campaign_id=campaign.pk,
        token=token,
        results=[SendResult(i, ResultStatus.SENT) for i in begun],
        contents={},
        recipients={},
        attempts={},
    )
    assert statuses(campaign) == {"unknown": 2, "pending": 2}
    assert DeliveryEvent.objects.filter(campaign=campaign, type="unknown").count() == 2
