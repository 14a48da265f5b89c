"""Test sends: a campaign's message to chosen recipients, the campaign itself untouched."""

import json

import pytest
from django.utils import timezone

from notifications.campaigns.direct import campaign_send_test
from notifications.models import Delivery, DeliveryEvent
from notifications.reasons import reason_text
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import (
    IMSHOP_URL,
    people,
    send_all,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def test_a_test_send_goes_to_chosen_recipients_and_leaves_the_campaign_alone(mocked):
    recipients = people(3)
    campaign = make_campaign(
        make_audience(*recipients), template=make_template(title="T", body="B")
    )
    test = campaign_send_test(campaign_id=campaign.pk, external_ids=["c-0"])
    mocked.post(IMSHOP_URL, json={"success": True})
    send_all(test)
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert not Delivery.objects.filter(campaign=campaign).exists()
    assert (test.kind, test.parent_id) == ("test", campaign.pk)
    assert json.loads(mocked.calls[0].request.body)["userIds"] == ["c-0"]


def test_a_test_send_skips_like_a_campaign_with_the_reason_and_its_event():
    reachable = make_recipient(external_id="in")
    opted_out = make_recipient(external_id="out", opted_out_at=timezone.now())
    campaign = make_campaign(make_audience(reachable), template=make_template(title="T", body="B"))
    test = campaign_send_test(campaign_id=campaign.pk, external_ids=["in", "out"])
    skipped = Delivery.objects.get(campaign=test, recipient=opted_out)
    assert (skipped.status, reason_text(skipped.error)) == ("skipped", "The recipient opted out.")
    assert Delivery.objects.get(campaign=test, recipient=reachable).address == "in"
    assert DeliveryEvent.objects.filter(campaign=test, type="skipped").count() == 1
    assert statuses(test) == {"pending": 1, "skipped": 1}
