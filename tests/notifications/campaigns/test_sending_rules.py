"""The site's sending rules, and the send window campaigns take from them and keep."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.direct import message_send
from notifications.campaigns.sending_rules import (
    recipients_default_zone,
    send_window_of,
    sending_rules,
    sending_rules_save,
)
from notifications.campaigns.services import campaign_copy, campaign_save, campaign_schedule
from notifications.campaigns.windows import SendWindow, days_mask
from notifications.errors import InvalidInput, StateConflict
from notifications.models import Campaign, SendingRules
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("product_window")]

WEEKDAYS = days_mask({0, 1, 2, 3, 4})


def test_the_rules_are_made_on_first_read_in_the_sites_zone(settings):
    settings.TIME_ZONE = "Asia/Vladivostok"
    rules = sending_rules()
    assert (rules.time_zone, rules.window_on) == ("Asia/Vladivostok", True)
    assert (rules.window_start, rules.window_end) == (time(10), time(21))
    assert sending_rules().pk == rules.pk
    assert SendingRules.objects.count() == 1


def test_saving_the_rules_writes_the_fields_given_and_who_changed_them(admin_user):
    sending_rules_save(
        data={"time_zone": "Europe/London", "window_start": time(9)}, user=admin_user
    )
    rules = sending_rules()
    assert (rules.time_zone, rules.window_start, rules.window_end) == (
        "Europe/London",
        time(9),
        time(21),
    )
    assert rules.updated_by == admin_user


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Moscow"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"window_start": time(21)}, "window_end"),
        ({"window_days": 0}, "window_days"),
    ],
)
def test_impossible_rules_are_refused_on_their_field(data, field):
    with pytest.raises(InvalidInput) as refused:
        sending_rules_save(data=data)
    assert set(refused.value.error_dict) == {field}
    assert sending_rules().window_start == time(10)


def test_recipients_without_a_zone_are_in_the_rules_zone():
    sending_rules_save(data={"time_zone": "Pacific/Marquesas"})
    assert str(recipients_default_zone()) == "Pacific/Marquesas"


def test_a_new_campaign_takes_the_sites_window():
    sending_rules_save(data={"window_start": time(22), "window_end": time(6), "window_days": 1})
    campaign = campaign_save(
        campaign_id=None, data={"name": "Night", "channel": "imshop", "template": make_template()}
    )
    assert send_window_of(campaign) == SendWindow(time(22), time(6), frozenset({0}))


def test_a_new_campaign_has_no_window_when_the_site_says_so():
    sending_rules_save(data={"window_on": False})
    campaign = campaign_save(
        campaign_id=None, data={"name": "Any", "channel": "imshop", "template": make_template()}
    )
    assert send_window_of(campaign) is None


def test_a_window_given_for_a_new_campaign_wins_over_the_sites():
    campaign = campaign_save(
        campaign_id=None,
        data={
            "name": "Weekdays",
            "channel": "imshop",
            "template": make_template(),
            "window_days": WEEKDAYS,
        },
    )
    assert (campaign.window_on, campaign.window_days) == (True, WEEKDAYS)


def test_an_impossible_campaign_window_is_refused_on_its_field():
    campaign = make_campaign()
    with pytest.raises(InvalidInput) as refused:
        campaign_save(campaign_id=campaign.pk, data={"window_end": time(10)})
    assert set(refused.value.error_dict) == {"window_end"}


def test_the_window_of_a_scheduled_campaign_can_change(settings):
    settings.IMSHOP_PUSH_URL, settings.IMSHOP_API_KEY = "https://imshop.test/push", "key"
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_schedule(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    campaign_save(campaign_id=campaign.pk, data={"window_on": True, "window_start": time(8)})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.window_on, campaign.window_start) == (
        "scheduled",
        True,
        time(8),
    )


def test_nothing_else_of_a_scheduled_campaign_can_change(settings):
    settings.IMSHOP_PUSH_URL, settings.IMSHOP_API_KEY = "https://imshop.test/push", "key"
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_schedule(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(StateConflict):
        campaign_save(campaign_id=campaign.pk, data={"window_on": True, "name": "Renamed"})


def test_the_window_of_a_running_campaign_cannot_change():
    campaign = make_campaign(status=Campaign.Status.RUNNING)
    with pytest.raises(StateConflict, match="it is running"):
        campaign_save(campaign_id=campaign.pk, data={"window_on": True})


def test_a_copy_keeps_the_window():
    campaign = make_campaign(
        window_on=True, window_start=time(22), window_end=time(6), window_days=WEEKDAYS
    )
    copy, _ = campaign_copy(campaign_id=campaign.pk)
    assert send_window_of(copy) == send_window_of(campaign)


def test_a_message_goes_out_at_any_hour_unless_it_asks_for_the_window(settings):
    settings.IMSHOP_PUSH_URL, settings.IMSHOP_API_KEY = "https://imshop.test/push", "key"
    make_recipient(external_id="c-1")
    content = {"title": "Code", "body": "1234"}
    plain = message_send(channel="imshop", external_ids=["c-1"], content=content)
    asked = message_send(channel="imshop", external_ids=["c-1"], content=content, send_window=True)
    assert send_window_of(plain) is None
    assert send_window_of(asked) == send_window_of(sending_rules())


@pytest.mark.parametrize(
    ("default", "on", "start", "end"),
    [("off", False, time(10), time(21)), ("08:30-22:15", True, time(8, 30), time(22, 15))],
)
def test_a_new_install_starts_with_the_window_the_environment_names(
    settings, default, on, start, end
):
    settings.SEND_WINDOW_DEFAULT = default
    rules = sending_rules()
    assert (rules.window_on, rules.window_start, rules.window_end) == (on, start, end)
