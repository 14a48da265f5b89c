"""Constraints live in the database, not only in forms."""

import pytest
from django.db import IntegrityError, transaction

from notifications.models import Address, Delivery, Recipient
from tests.factories import make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def test_external_id_is_unique():
    make_recipient(external_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Recipient.objects.create(external_id="c-1")


def test_an_address_belongs_to_one_recipient_per_channel():
    first = make_recipient(addresses={"leadconverter": "1"})
    second = make_recipient()
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(recipient=second, channel="leadconverter", value="1")
    # The same value on another channel is another address.
    Address.objects.create(recipient=second, channel="bitrix24", value="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(recipient=first, channel="leadconverter", value="2")


def test_one_delivery_per_campaign_and_recipient():
    recipient = make_recipient()
    campaign = make_campaign()
    Delivery.objects.create(campaign=campaign, recipient=recipient)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(campaign=campaign, recipient=recipient)


def test_dispatch_and_stats_queries_have_their_indexes():
    names = {index.name for index in Delivery._meta.indexes}
    assert {"delivery_campaign_status", "delivery_due", "delivery_lease"} <= names
