"""The recipient serializer refuses a taken address with the domain's check and sentence."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.api.serializers.recipients import RecipientSerializer
from notifications.recipients.validators import address_taken_message
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


def test_an_address_another_recipient_holds_is_400_on_addresses_in_the_domains_words(api):
    make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    response = api.post(
        "/api/recipients/",
        {"external_id": "new", "addresses": {"leadconverter": "7365"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "addresses": [address_taken_message("leadconverter", "7365", "owner")]
    }


def test_a_recipient_keeps_their_own_addresses_on_update(api):
    owner = make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    response = api.patch(
        f"/api/recipients/{owner.pk}/", {"addresses": {"leadconverter": "7365"}}, format="json"
    )
    assert response.status_code == 200


def test_all_of_a_recipients_addresses_are_checked_in_one_query():
    ask = RecipientSerializer(
        data={
            "external_id": "new",
            "addresses": {"leadconverter": "1", "imshop": "new", "bitrix24": "7"},
        }
    )
    with CaptureQueriesContext(connection) as queries:
        assert ask.is_valid(), ask.errors
    address_queries = [q for q in queries if "notifications_address" in q["sql"]]
    assert len(address_queries) == 1
