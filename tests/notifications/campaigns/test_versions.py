"""Recovering from a content mistake: versions, the retry's outlook, copy, and back to draft."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import (
    campaign_complete_if_done,
    campaign_dispatch,
    campaign_pause,
    campaign_retry_failed,
)
from notifications.campaigns.materialise import campaign_materialise
from notifications.campaigns.preflight import recipients_unrenderable
from notifications.campaigns.services import (
    campaign_content_edit,
    campaign_copy,
    campaign_reschedule,
    campaign_unschedule,
)
from notifications.campaigns.versions import campaign_retry_outlook
from notifications.errors import InvalidInput, StateConflict
from notifications.models import (
    Campaign,
    CampaignContent,
    Delivery,
    DeliveryCounter,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from notifications.sending.claims import deliveries_claim, deliveries_start
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import LEADCONVERTER_SEND, dispatched, send_all, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def city_people():
    """Two with a city, two without: 'In {{ city }}' fails for half."""
    return [
        make_recipient(
            external_id=f"p-{i}",
            attributes={"city": "Kazan"} if i < 2 else {},
            addresses={"leadconverter": str(100 + i)},
        )
        for i in range(4)
    ]


def test_fixing_the_message_and_retrying_sends_the_failed_the_new_version(mocked):
    campaign = dispatched("leadconverter", city_people(), body="In {{ city }}")
    assert campaign.content_version == 1
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    send_all(campaign)
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert statuses(campaign) == {"sent": 2, "failed": 2}

    outlook = campaign_retry_outlook(campaign)
    assert (outlook.version, outlook.failed, outlook.content_errors) == (1, 2, 2)
    assert outlook.will_fail_again
    assert "'city' is undefined" in outlook.example_error

    campaign_content_edit(
        campaign_id=campaign.pk, content={"body": "In {{ city | default: 'your city' }}"}
    )
    campaign.refresh_from_db()
    assert campaign.content_version == 2
    assert not campaign_retry_outlook(campaign).will_fail_again  # the failures were version 1's

    assert campaign_retry_failed(campaign_id=campaign.pk) == 2
    send_all(campaign)
    assert statuses(campaign) == {"sent": 4}
    texts = sorted(item["text"] for call in mocked.calls[1:] for item in _batch(call))
    assert texts == ["In your city", "In your city"]
    by_version = dict(
        Delivery.objects.filter(campaign=campaign).values_list(
            "recipient__external_id", "content_version"
        )
    )
    assert by_version == {"p-0": 1, "p-1": 1, "p-2": 2, "p-3": 2}
    assert list(
        CampaignContent.objects.filter(campaign=campaign).values_list("version", flat=True)
    ) == [2, 1]


def _batch(call):
    return json.loads(call.request.body)["batch"]


def test_a_new_version_is_checked_like_a_drafts_message():
    campaign = dispatched("leadconverter", city_people(), body="Hello")
    campaign_pause(campaign_id=campaign.pk)
    with pytest.raises(InvalidInput, match="version 1 already"):
        campaign_content_edit(campaign_id=campaign.pk, content={"body": "Hello"})
    with pytest.raises(InvalidInput, match="Template error"):
        campaign_content_edit(campaign_id=campaign.pk, content={"body": "Hi {{ first_name"})
    with pytest.raises(InvalidInput, match="No recipient has this variable: ctiy"):
        campaign_content_edit(campaign_id=campaign.pk, content={"body": "In {{ ctiy }}"})
    with pytest.raises(InvalidInput, match="need a text"):
        campaign_content_edit(campaign_id=campaign.pk, content={"body": "  "})
    campaign.refresh_from_db()
    assert campaign.content_version == 1


def test_the_message_of_a_running_campaign_does_not_change_under_its_senders():
    campaign = dispatched("leadconverter", city_people(), body="Hello")
    with pytest.raises(StateConflict, match=r"Cannot edit the message of .* it is running"):
        campaign_content_edit(campaign_id=campaign.pk, content={"body": "Changed"})


def test_a_request_rendered_from_an_old_version_does_not_start():
    campaign = dispatched("leadconverter", city_people(), body="Hello")
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=10, lease_seconds=60)
    # Paused, edited and resumed between the render and the request.
    Campaign.objects.filter(pk=campaign.pk).update(content_version=2)
    ids = [c.id for c in claimed]
    assert (
        deliveries_start(campaign_id=campaign.pk, token=token, ids=ids, content_version=1) == set()
    )
    assert deliveries_start(
        campaign_id=campaign.pk, token=token, ids=ids, content_version=2
    ) == set(ids)


def test_the_outlook_counts_only_content_errors_of_the_version_sent_now():
    campaign = dispatched("leadconverter", city_people(), body="Hi")
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("pk"))
    Delivery.objects.filter(pk=rows[0].pk).update(
        status="failed", error="render_error: 'city' is undefined", content_version=1
    )
    Delivery.objects.filter(pk=rows[1].pk).update(
        status="failed", error="HTTP 500", content_version=1
    )
    Delivery.objects.filter(pk=rows[2].pk).update(
        status="failed", error="render_error: 'x' is undefined", content_version=None
    )
    outlook = campaign_retry_outlook(campaign)
    assert (outlook.failed, outlook.content_errors) == (3, 2)  # no version: the first


def test_unrenderable_recipients_are_counted_exactly_in_sql():
    recipients = city_people()
    make_recipient(external_id="other", attributes={"city": "Omsk"})
    people = Recipient.objects.filter(pk__in=[r.pk for r in recipients])
    found = recipients_unrenderable(
        recipients=people, channel="leadconverter", fields={"body": "In {{ city }}"}
    )
    assert (found.count, found.variables) == (2, ("city",))
    assert found.example.startswith("p-2: ")
    with_default = {"body": "In {{ city | default: 'town' }}"}
    assert (
        recipients_unrenderable(recipients=people, channel="leadconverter", fields=with_default)
        is None
    )


def test_a_copy_is_a_draft_with_the_same_message_audiences_and_exclusions():
    template = make_template(name="Spring", body="Hi")
    kept_out = make_audience(make_recipient(external_id="x"), name="Do not disturb")
    campaign = make_campaign(
        make_audience(make_recipient(external_id="a"), name="All"),
        name="Spring sale",
        template=template,
        channel="imshop",
        sendios_project_id=1,
        sendios_template_id=2,
    )
    campaign.excluded_audiences.set([kept_out])
    copy, new_template = campaign_copy(campaign_id=campaign.pk)
    assert (copy.name, copy.status, copy.channel, copy.template) == (
        "Copy of Spring sale",
        "draft",
        "imshop",
        template,
    )
    assert new_template is None
    assert [a.name for a in copy.audiences.all()] == ["All"]
    assert [a.name for a in copy.excluded_audiences.all()] == ["Do not disturb"]
    assert copy.sendios_project_id is None  # callbacks find one campaign by the pair
    assert campaign_copy(campaign_id=campaign.pk)[0].name == "Copy of Spring sale (2)"


def test_a_copy_of_an_edited_campaign_sends_what_it_sends_now():
    campaign = dispatched("leadconverter", city_people(), body="Old text")
    campaign_pause(campaign_id=campaign.pk)
    campaign_content_edit(campaign_id=campaign.pk, content={"body": "New text"})
    copy, new_template = campaign_copy(campaign_id=campaign.pk)
    assert new_template is not None
    assert copy.template == new_template
    assert new_template.body == "New text"
    assert MessageTemplate.objects.filter(body="Old text").count() == 1


def test_test_sends_are_not_copied():
    campaign = make_campaign(kind=Campaign.Kind.TEST)
    with pytest.raises(StateConflict, match="test send"):
        campaign_copy(campaign_id=campaign.pk)


def scheduled(recipients):
    campaign = make_campaign(
        make_audience(*recipients), channel="leadconverter", template=make_template()
    )
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=3))
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_a_scheduled_campaign_moves_to_another_time_in_the_future():
    campaign = scheduled(city_people())
    later = timezone.now() + timedelta(days=1)
    campaign_reschedule(campaign_id=campaign.pk, scheduled_at=later)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == ("scheduled", later)
    with pytest.raises(InvalidInput, match="in the future") as refused:
        campaign_reschedule(campaign_id=campaign.pk, scheduled_at=timezone.now())
    assert refused.value.message_dict.keys() == {"scheduled_at"}


def test_back_to_draft_forgets_the_prepared_deliveries_and_can_be_dispatched_again():
    recipients = city_people()
    recipients[0].opted_out_at = timezone.now()
    recipients[0].save()
    campaign = scheduled(recipients)
    assert Delivery.objects.filter(campaign=campaign).count() == 4
    campaign_unschedule(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.content, campaign.content_version) == ("draft", {}, 0)
    assert campaign.scheduled_at is None
    assert campaign.materialised_at is None
    for model in (Delivery, DeliveryCounter, CampaignContent):
        assert not model.objects.filter(campaign=campaign).exists(), model
    # The deliveries' history goes with them; the campaign's own moves stay in it.
    history = DeliveryEvent.objects.filter(campaign=campaign).order_by("id")
    assert [(e.type, e.data["status"]) for e in history] == [
        ("campaign_status", "scheduled"),
        ("campaign_status", "draft"),
    ]
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.content_version == 1
    assert statuses(campaign) == {"pending": 3, "skipped": 1}


def test_a_materialisation_of_an_unscheduled_campaign_stops():
    campaign = make_campaign(
        make_audience(*city_people()), channel="leadconverter", template=make_template()
    )
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=3))
    campaign_unschedule(campaign_id=campaign.pk)
    # The task queued by the dispatch runs after the campaign went back to draft.
    assert campaign_materialise(campaign_id=campaign.pk) == {}
    assert not Delivery.objects.filter(campaign=campaign).exists()
    campaign.refresh_from_db()
    assert campaign.materialised_at is None
