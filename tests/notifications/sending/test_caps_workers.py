"""Frequency caps with real workers: two campaigns to the same people, sent by two `qcluster`
processes at once on PostgreSQL, never both pass a cap of one message a day."""

from collections import Counter

import pytest

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
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


def workers_ready(log_dir) -> int:
    """How many django-q2 workers of the clusters logging to `log_dir` are ready for work."""
    return sum(path.read_text().count("ready for work") for path in log_dir.glob("qcluster-*.log"))


def test_two_campaigns_on_two_workers_never_both_pass_a_cap_of_one(
    real_stack,  # noqa: F811 - the fixtures imported above
    provider_settings,  # noqa: F811
    tmp_path,
):
    FrequencyCap.objects.create(limit=1, period=FrequencyCap.Period.DAY)
    # Each request takes half a second, so a campaign takes seconds (ten requests, two senders)
    # and the other's senders, started a moment later on a busy machine, overlap with its.
    with RecordingServer(latency=0.5) as server:
        provider_settings(server)
        first = campaign_for(PEOPLE)
        second = Campaign.objects.create(
            name="second", channel=first.channel, template=first.template, capped_action="skip"
        )
        second.audiences.set(first.audiences.all())
        Campaign.objects.filter(pk=first.pk).update(capped_action="skip")
        # Workers to spare: a campaign's idle second sender holds one until its campaign ends,
        # and the other campaign's senders must not queue behind them.
        with Clusters(server, tmp_path, Q_WORKERS="4") as clusters:
            # Every worker ready first, then both campaigns materialised here: their senders
            # start together, and each recipient's two deliveries are claimed by two senders at
            # about the same time.
            wait_until(
                lambda: workers_ready(tmp_path) >= 8, "the workers to start", clusters=clusters
            )
            for campaign in (first, second):
                campaign_dispatch(campaign_id=campaign.pk)
                campaign_materialise(campaign_id=campaign.pk)
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
