"""`manage.py demo_data`: what it makes, once, with counters that equal the rows."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from notifications.campaigns.selectors import campaign_progress
from notifications.campaigns.sms import campaign_sms_stats
from notifications.models import (
    Address,
    Audience,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
)

pytestmark = pytest.mark.django_db


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue().strip()


def table_sizes() -> dict[str, int]:
    models = [Recipient, Address, Audience, MessageTemplate, Campaign, Delivery, DeliveryEvent]
    return {model.__name__: model.objects.count() for model in models}


def test_it_says_in_one_sentence_what_it_made():
    said = demo("--recipients", "50")
    assert said.startswith("Made 50 recipients, 2 audiences, 4 templates and 5 campaigns")
    assert said.count("\n") == 0


def test_running_it_twice_changes_nothing():
    demo("--recipients", "40")
    before = table_sizes()
    assert demo("--recipients", "40") == "The demo data is already here: nothing was changed."
    assert table_sizes() == before


def test_an_install_with_its_own_recipients_is_left_alone():
    Recipient.objects.create(external_id="real-customer")
    assert demo() == (
        "This install has recipients or campaigns of its own: the demo data was not added."
    )
    assert Recipient.objects.count() == 1


def test_every_finished_campaigns_counters_equal_its_rows():
    demo("--recipients", "80")
    finished = Campaign.objects.exclude(status=Campaign.Status.DRAFT)
    assert finished.count() == 4
    for campaign in finished:
        rows = dict(
            Delivery.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        progress = campaign_progress(campaign_id=campaign.pk)
        assert {status: progress[status] for status in rows} == rows, campaign.name
        assert progress["total"] == sum(rows.values()) > 0


def test_it_fills_every_channel_and_the_sms_history():
    demo("--recipients", "120")
    assert set(Address.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(Campaign.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(RecipientAttribute.objects.values_list("type", flat=True)) == {
        "text",
        "number",
        "date",
        "boolean",
    }
    sms_campaign = Campaign.objects.get(sendios_project_id__isnull=False)
    stats = campaign_sms_stats(campaign_id=sms_campaign.pk)
    assert stats.sent > 0
    assert stats.lost > 0
    assert stats.clicked > 0
    segment = Audience.objects.get(kind=Audience.Kind.SEGMENT)
    assert (
        segment.size
        == Recipient.objects.filter(
            attributes__city__in=["Москва", "Санкт-Петербург"],
            attributes__age__gte=25,
            attributes__age__lte=45,
        ).count()
    )


@pytest.mark.parametrize("size", ["-5", "0", "100000"])
def test_a_size_out_of_range_is_refused_with_a_sentence(size):
    with pytest.raises(CommandError, match="between 10 and 5,000 recipients"):
        demo("--recipients", size)
    assert Recipient.objects.count() == 0
