"""Constraints live in the database, not only in forms."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

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


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("due", "delivery_due"),
        ("expired_leases", "delivery_lease"),
        ("claimed", "delivery_claim"),
    ],
)
def test_the_engines_queries_can_use_their_indexes(postgres_only, query, index):
    # A partial index serves only queries whose conditions imply its own; with sequential
    # scans off, the plan shows whether each query the engine runs can use its index. (Plain
    # composite indexes need no such check: on an empty table the planner's pick among them is
    # a tie, not a finding.)
    now = timezone.now()
    queries = {
        "due": Delivery.objects.filter(campaign_id=1, status="pending").filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        ),
        "expired_leases": Delivery.objects.filter(status="sending", lease_expires_at__lt=now),
        "claimed": Delivery.objects.filter(claim_token=uuid.uuid4()),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queries[query].explain()
    assert index in plan
