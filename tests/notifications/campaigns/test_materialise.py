"""Materialising a campaign: one delivery per distinct recipient, skips with their reasons."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Delivery, DeliveryEvent, Recipient
from notifications.reasons import reason_text
from notifications.sending.claims import deliveries_claim
from notifications.sending.tasks import tick
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import (
    dispatched,
    people,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def test_materialise_makes_one_delivery_per_distinct_recipient_and_skips_with_reasons():
    reachable = people(3)
    opted_out = make_recipient(
        opted_out_at=timezone.now(), addresses={"leadconverter": "77"}, external_id="out"
    )
    no_address = make_recipient(external_id="nowhere")
    template = make_template(body="Hi")
    campaign = make_campaign(
        make_audience(*reachable, opted_out),
        make_audience(reachable[0], no_address),  # overlapping audiences
        channel="leadconverter",
        template=template,
    )
    campaign_dispatch(campaign_id=campaign.pk)
    counts = campaign_materialise(campaign_id=campaign.pk)
    assert counts == {"pending": 3, "skipped": 2}
    skipped = {
        external_id: reason_text(error)
        for external_id, error in Delivery.objects.filter(
            campaign=campaign, status="skipped"
        ).values_list("recipient__external_id", "error")
    }
    assert skipped == {"out": "The recipient opted out.", "nowhere": "No LeadConverter address."}
    assert DeliveryEvent.objects.filter(campaign=campaign, type="skipped").count() == 2
    assert Delivery.objects.get(recipient=reachable[1], campaign=campaign).address == "1001"


def test_materialising_again_changes_nothing():
    campaign = dispatched("leadconverter", people(4))
    campaign_materialise(campaign_id=campaign.pk)
    assert Delivery.objects.filter(campaign=campaign).count() == 4
    assert statuses(campaign) == {"pending": 4}


def test_a_second_materialisation_leaves_counters_that_senders_change_alone():
    # Rebuilding the counters while senders add to them would lose their changes.
    campaign = dispatched("leadconverter", people(4))
    deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    with CaptureQueriesContext(connection) as queries:
        assert campaign_materialise(campaign_id=campaign.pk) == {"pending": 2, "sending": 2}
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_the_tick_does_not_queue_a_second_materialisation_while_the_first_runs(
    django_capture_on_commit_callbacks,
):
    campaign = make_campaign(make_audience(*people(2)), channel="leadconverter")
    campaign_dispatch(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert tick()["woken"] == []
    assert callbacks == []


def test_imshop_uses_the_external_id_when_no_imshop_address_is_given():
    recipient = make_recipient(external_id="shop-user-1")
    campaign = dispatched("imshop", [recipient])
    assert Delivery.objects.get(campaign=campaign).address == "shop-user-1"


def test_materialise_in_small_ranges_covers_everyone():
    recipients = people(7)
    campaign = make_campaign(
        make_audience(*recipients), channel="leadconverter", template=make_template(body="x")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    assert campaign_materialise(campaign_id=campaign.pk, chunk=2) == {"pending": 7}


def test_a_segment_is_frozen_into_deliveries_as_it_is_at_dispatch():
    from notifications.audiences.services import audience_save

    moscow = [
        make_recipient(attributes={"city": "Moscow"}, addresses={"leadconverter": str(n)})
        for n in range(1, 4)
    ]
    make_recipient(attributes={"city": "Kazan"}, addresses={"leadconverter": "9"})
    segment = audience_save(
        audience=None,
        data={
            "name": "Moscow",
            "kind": "segment",
            "rules": {
                "match": "all",
                "rules": [{"field": "attributes.city", "op": "eq", "value": "Moscow"}],
            },
        },
    )
    campaign = make_campaign(segment, channel="leadconverter", template=make_template(body="Hi"))
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    make_recipient(attributes={"city": "Moscow"}, addresses={"leadconverter": "10"})  # too late
    campaign_materialise(campaign_id=campaign.pk)
    assert sorted(campaign.deliveries.values_list("recipient_id", flat=True)) == [
        r.pk for r in moscow
    ]


def test_the_excluded_are_skipped_first_each_with_the_audience_that_excluded_them():
    kept, banned, opted_out_banned, complained = (
        make_recipient(external_id=name, addresses={"leadconverter": str(n)})
        for n, name in enumerate(["kept", "banned", "out", "complained"], start=1)
    )
    Recipient.objects.filter(pk=opted_out_banned.pk).update(opted_out_at=timezone.now())
    campaign = make_campaign(
        make_audience(kept, banned, opted_out_banned, complained),
        channel="leadconverter",
        template=make_template(body="Hi"),
    )
    campaign.excluded_audiences.set(
        [
            make_audience(banned, opted_out_banned, complained, name="Banned"),
            make_audience(complained, name="Complaints"),  # first by name: "Banned"
        ]
    )
    campaign_dispatch(campaign_id=campaign.pk)
    assert campaign_materialise(campaign_id=campaign.pk) == {"pending": 1, "skipped": 3}
    reasons = {
        external_id: reason_text(error)
        for external_id, error in campaign.deliveries.values_list("recipient__external_id", "error")
    }
    assert reasons == {
        "kept": "",
        "banned": "Excluded by Banned.",
        "out": "Excluded by Banned.",
        "complained": "Excluded by Banned.",
    }
    skipped_events = DeliveryEvent.objects.filter(campaign=campaign, type="skipped")
    assert (
        sorted(reason_text(d) for d in skipped_events.values_list("detail", flat=True))
        == ["Excluded by Banned."] * 3
    )
