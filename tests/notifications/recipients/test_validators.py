"""The recipients' shared checks: an address one recipient holds, recipients named by
external_id."""

import pytest
from django.core.exceptions import ValidationError

from notifications.errors import InvalidInput
from notifications.recipients.validators import (
    address_holders,
    clean_addresses_free,
    recipients_known,
)
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


def test_an_address_another_recipient_holds_is_refused_naming_them():
    make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    with pytest.raises(ValidationError) as refused:
        clean_addresses_free({"leadconverter": "7365"}, recipient_id=None)
    assert refused.value.messages == [
        "leadconverter address 7365 already belongs to recipient 'owner'."
    ]


def test_a_recipients_own_addresses_are_free_for_them():
    owner = make_recipient(addresses={"leadconverter": "7365", "imshop": "c-1"})
    addresses = {"leadconverter": "7365", "imshop": "c-1"}
    assert clean_addresses_free(addresses, recipient_id=owner.pk) == addresses


def test_every_address_is_looked_up_in_one_query(django_assert_num_queries):
    make_recipient(external_id="owner", addresses={"bitrix24": "7"})
    wanted = [("leadconverter", "1"), ("imshop", "c-1"), ("bitrix24", "7")]
    with django_assert_num_queries(1):
        assert address_holders(wanted) == {("bitrix24", "7"): "owner"}


def test_recipients_known_maps_external_ids_to_ids():
    ann = make_recipient(external_id="ann")
    assert recipients_known(["ann"]) == {"ann": ann.pk}


def test_recipients_known_names_every_unknown_external_id_on_recipients():
    make_recipient(external_id="ann")
    with pytest.raises(InvalidInput) as refused:
        recipients_known(["zed", "ann", "bob"])
    assert refused.value.message_dict == {
        "recipients": ["No recipients have the external_ids bob, zed."]
    }


def test_thousands_of_addresses_are_looked_up_in_one_query(django_assert_num_queries):
    make_recipient(external_id="owner", addresses={"imshop": "c-2999"})
    wanted = [(channel, f"c-{i}") for i in range(3000) for channel in ("imshop", "leadconverter")]
    with django_assert_num_queries(1):
        assert address_holders(wanted) == {("imshop", "c-2999"): "owner"}
