"""Frequency caps with real workers: two campaigns to the same people, sent by two `qcluster`
processes at once on PostgreSQL, never both pass a cap of one message a day."""

from collections import Counter

import pytest

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import Campaign, CountedSend, Delivery, FrequencyCap
from tests.notifications.sending.test_workers import (  # noqa: F401 - fixtures used by name
    Clusters,
    campaign_for,
    finished,
    provider_settings,
    real_stack,
    statuses,
    wait_until,
)
from tests.support.recording_server import RecordingServer

pytestmark = [pytest.mark.django_db(transaction=True)]

PEOPLE = 1_000


def test_two_campaigns_on_two_workers_never_both_pass_a_cap_of_one(
    real_stack,  # noqa: F811 - the fixtures imported above
    provider_settings,  # noqa: F811
    tmp_path,
):
    FrequencyCap.objects.create(limit=1, period=FrequencyCap.Period.DAY)
    with RecordingServer(latency=0.01) as server:
        provider_settings(server)
        first = campaign_for(PEOPLE)
        second = Campaign.objects.create(
            name="second", channel=first.channel, template=first.template, capped_action="skip"
        )
        second.audiences.set(first.audiences.all())
        Campaign.objects.filter(pk=first.pk).update(capped_action="skip")
        with Clusters(server, tmp_path) as clusters:
            # Both at once: each recipient's two deliveries are claimed by two senders.
            campaign_dispatch(campaign_id=first.pk)
            campaign_dispatch(campaign_id=second.pk)
            wait_until(
                lambda: finished(first) and finished(second),
                "both campaigns to complete",
                clusters=clusters,
            )
    received = Counter(server.addresses())
    assert len(received) == PEOPLE
    assert max(received.values()) == 1
    one, two = statuses(first), statuses(second)
    assert one["sent"] + two["sent"] == PEOPLE
    assert one["skipped"] + two["skipped"] == PEOPLE
    # Each recipient: one message sent, one skipped by the cap, and one counted send.
    sent_to = Counter(Delivery.objects.filter(status="sent").values_list("recipient_id", flat=True))
    assert len(sent_to) == PEOPLE
    assert max(sent_to.values()) == 1
    assert CountedSend.objects.count() == PEOPLE
    # Both raced: each campaign sent to some of them (or the test proves nothing).
    assert one["sent"], (one, two)
    assert two["sent"], (one, two)
