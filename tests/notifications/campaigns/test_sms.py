"""SMS callbacks that arrive early are linked when their recipient or campaign appears."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import DeliveryEvent
from notifications.recipients.reading import read_recipient_rows
from notifications.recipients.upsert import recipients_import
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


def early_sms(**fields) -> DeliveryEvent:
    fields.setdefault("sendios_user_id", "c-1")
    return DeliveryEvent.objects.create(
        type="sms_sent", sms_id=77, occurred_at=timezone.now() + timedelta(seconds=5), **fields
    )


def test_importing_the_recipient_links_its_waiting_sms_events():
    event = early_sms()
    recipients_import(rows=read_recipient_rows(io.BytesIO(b"external_id\nc-1\n")))
    event.refresh_from_db()
    assert event.recipient.external_id == "c-1"


def test_a_dry_run_import_links_nothing():
    event = early_sms()
    recipients_import(rows=read_recipient_rows(io.BytesIO(b"external_id\nc-1\n")), dry_run=True)
    event.refresh_from_db()
    assert event.recipient_id is None


def test_materialising_a_campaign_links_its_sms_events_to_campaign_and_delivery(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "key"
    recipient = make_recipient(external_id="c-1")
    campaign = make_campaign(
        make_audience(recipient),
        template=make_template(),
        sendios_project_id=99,
        sendios_template_id=15,
    )
    # At ingest the recipient existed and was linked; the campaign had not started yet.
    event = early_sms(recipient=recipient, sendios_project_id=99, sendios_template_id=15)
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    event.refresh_from_db()
    assert event.campaign_id == campaign.pk
    assert event.recipient_id == recipient.pk
    assert event.delivery.campaign_id == campaign.pk
