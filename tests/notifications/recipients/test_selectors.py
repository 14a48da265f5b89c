"""Who a campaign on a channel reaches, and why the others are skipped: one rule."""

import pytest

from notifications.models import Recipient
from notifications.recipients.selectors import Reach, reachable_recipients, recipients_by_reach
from tests.factories import make_audience, make_recipient

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


def _segment(name, rules):
    from notifications.audiences.services import audience_save

    return audience_save(audience=None, data={"name": name, "kind": "segment", "rules": rules})


def test_a_person_in_an_excluded_audience_is_excluded_and_nothing_else(people):
    everyone = Recipient.objects.all()
    staff = make_audience(people["opted_out"], people["without"])
    by_reach = {
        reach: _ids(recipients_by_reach(everyone, "yandex_market", reach, excluded=[staff]))
        for reach in Reach
    }
    assert by_reach == {
        Reach.REACHABLE: {people["with_chat"].pk},
        Reach.EXCLUDED: {people["opted_out"].pk, people["without"].pk},
        Reach.OPTED_OUT: set(),
        Reach.NO_ADDRESS: set(),
    }


def test_without_excluded_audiences_no_one_is_excluded(people):
    assert not recipients_by_reach(Recipient.objects.all(), "imshop", Reach.EXCLUDED).exists()


def test_an_excluded_segment_leaves_in_those_whose_attribute_is_missing(people):
    kazan = make_recipient(attributes={"city": "Kazan"}, addresses={"yandex_market": "44"})
    in_kazan = _segment(
        "In Kazan",
        {"match": "all", "rules": [{"field": "attributes.city", "op": "eq", "value": "Kazan"}]},
    )
    reachable = reachable_recipients(Recipient.objects.all(), "yandex_market", excluded=[in_kazan])
    # with_chat has no city at all: a negated condition would read NULL and drop them.
    assert _ids(reachable) == {people["with_chat"].pk}
    assert kazan.pk not in _ids(reachable)
