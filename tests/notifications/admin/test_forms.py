"""The admin's forms show the domain's checks as field errors, in the domain's words."""

import pytest

from notifications.admin.forms import AddressForm
from notifications.models import Address
from notifications.recipients.validators import address_taken_message
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


def test_an_address_another_recipient_holds_is_a_value_error_in_the_domains_words():
    make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    form = AddressForm(
        {"channel": "leadconverter", "value": " 7365 "},
        instance=Address(recipient=make_recipient()),
    )
    assert form.errors == {"value": [address_taken_message("leadconverter", "7365", "owner")]}


def test_a_recipient_keeps_their_own_address_through_the_form():
    owner = make_recipient(addresses={"leadconverter": "7365"})
    address = owner.addresses.get()
    assert AddressForm({"channel": "leadconverter", "value": "7365"}, instance=address).is_valid()
