"""Fixtures of the admin tests: a logged-in superuser and a few rows on every page."""

import pytest

from notifications.models import (
    Delivery,
    DeliveryEvent,
)
from tests.factories import make_audience, make_campaign, make_recipient
from webhooks.models import InboundWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.fixture
def sample_rows():
    recipient = make_recipient(
        external_id="c-1",
        first_name="Ann",
        attributes={"city": "Kazan"},
        addresses={"bitrix24": "7"},
    )
    audience = make_audience(recipient, name="Everyone")
    campaign = make_campaign(audience)
    delivery = Delivery.objects.create(campaign=campaign, recipient=recipient, address="7")
    DeliveryEvent.objects.create(
        type="sent", campaign=campaign, delivery=delivery, recipient=recipient, detail="ok"
    )
    InboundWebhook.objects.create(
        body=b'{"0": {"event": "sms_sent"}}', content_type="application/json"
    )
    return recipient
