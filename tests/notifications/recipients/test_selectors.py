"""Who a campaign on a channel reaches, and why the others are skipped: one rule."""

import pytest

from notifications.models import Recipient
from notifications.recipients.selectors import Reach, reachable_recipients, recipients_by_reach
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "with_chat": make_recipient(addresses={"yandex_market": "42"}),
        "without": make_recipient(),
        "opted_out": make_recipient(
            addresses={"yandex_market": "43"}, opted_out_at="2026-01-01T00:00Z"
        ),
    }


def _ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_a_channel_reaches_those_not_opted_out_with_an_address_on_it(people):
    everyone = Recipient.objects.all()
    assert _ids(reachable_recipients(everyone, "yandex_market")) == {people["with_chat"].pk}
    assert _ids(recipients_by_reach(everyone, "yandex_market", Reach.NO_ADDRESS)) == {
        people["without"].pk
    }
    assert _ids(recipients_by_reach(everyone, "yandex_market", Reach.OPTED_OUT)) == {
        people["opted_out"].pk
    }


def test_a_channel_that_addresses_people_by_external_id_reaches_everyone_not_opted_out(people):
    everyone = Recipient.objects.all()
    assert _ids(reachable_recipients(everyone, "imshop")) == {
        people["with_chat"].pk,
        people["without"].pk,
    }
    assert not recipients_by_reach(everyone, "imshop", Reach.NO_ADDRESS).exists()
