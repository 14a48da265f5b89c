"""Scheduling in the person's own time zone: the picker, the times pages show, and moving a
scheduled campaign (reschedule, back to draft) from the admin."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from notifications.admin.base import moment_text, until_text
from notifications.admin.campaigns import CampaignAdmin
from notifications.admin.timezones import ZonedDateTimeField, zone_label
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, Delivery, StaffProfile
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


@pytest.fixture(autouse=True)
def imshop(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "imshop-key"
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def campaign():
    recipients = [
        make_recipient(external_id=f"s-{i}", addresses={"imshop": f"d{i}"}) for i in range(3)
    ]
    return make_campaign(make_audience(*recipients), name="Autumn", template=make_template())


@pytest.fixture
def boss(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", password="pw")
    StaffProfile.objects.create(user=user, time_zone="Asia/Vladivostok")
    client.force_login(user)
    return client


def transition_url(campaign, action):
    return reverse("admin:notifications_campaign_transition", args=[campaign.pk, action])


def tomorrow_at(hour: int) -> datetime:
    day = timezone.now().astimezone(VLADIVOSTOK).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=VLADIVOSTOK)


def picker(moment: datetime) -> str:
    return moment.astimezone(VLADIVOSTOK).strftime("%Y-%m-%dT%H:%M")


def scheduled(boss, campaign, at: datetime) -> Campaign:
    """Schedule through the page, then prepare its deliveries as the worker would."""
    answer = boss.post(transition_url(campaign, "schedule"), {"scheduled_at": picker(at)})
    assert answer.status_code == 302
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


# --- The picker. ---------------------------------------------------------------------------


def test_the_picker_reads_a_time_in_the_active_zone():
    with timezone.override("Asia/Vladivostok"):
        moment = ZonedDateTimeField().clean("2026-12-06T09:00")
    assert moment == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_refused_with_a_sentence():
    with timezone.override("Europe/Berlin"), pytest.raises(forms.ValidationError) as refusal:
        ZonedDateTimeField().clean("2026-03-29T02:30")
    assert refusal.value.messages == [
        "There is no 29 Mar 2026, 02:30 in Europe/Berlin: the clocks go forward then. "
        "Choose another time."
    ]


def test_a_time_the_clocks_show_twice_is_refused_with_a_sentence():
    with timezone.override("Europe/Berlin"), pytest.raises(forms.ValidationError) as refusal:
        ZonedDateTimeField().clean("2026-10-25T02:30")
    assert refusal.value.messages == [
        "25 Oct 2026, 02:30 happens twice in Europe/Berlin, as the clocks go back: "
        "choose a time outside that hour."
    ]


def test_the_picker_is_the_browsers_own_no_earlier_than_now_and_names_the_zone():
    with timezone.override("Europe/Moscow"):
        html = ZonedDateTimeField().widget.render("at", None)
        now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    assert 'type="datetime-local"' in html
    assert f'min="{now}"' in html
    assert "Europe/Moscow, UTC+03:00" in html


def test_a_zone_is_named_with_its_offset_at_the_moment_asked():
    berlin = ZoneInfo("Europe/Berlin")
    assert zone_label(berlin, datetime(2026, 1, 10, tzinfo=UTC)) == "Europe/Berlin, UTC+01:00"
    assert zone_label(berlin, datetime(2026, 7, 10, tzinfo=UTC)) == "Europe/Berlin, UTC+02:00"
    assert zone_label(ZoneInfo("UTC")) == "UTC"


# --- Times as people read them. ------------------------------------------------------------


def test_a_time_to_come_says_how_far_off_it_is():
    soon = timezone.now() + timedelta(hours=3, minutes=10)
    assert until_text(soon) == "in 3 h 10 min"
    assert until_text(timezone.now() + timedelta(minutes=5)) == "in 5 min"
    assert until_text(timezone.now() + timedelta(days=2, hours=4)) == "in 2 days 4 h"
    with timezone.override("Asia/Vladivostok"):
        local = timezone.localtime(soon)
        assert moment_text(soon) == f"{local:%-d %b, %H:%M} (in 3 h 10 min)"


def test_a_past_time_is_shown_in_the_persons_zone_without_a_distance():
    moment = datetime(2020, 12, 6, 7, 15, tzinfo=UTC)
    with timezone.override("Asia/Vladivostok"):
        assert moment_text(moment) == "6 Dec 2020, 17:15"


def test_the_list_says_how_soon_a_scheduled_campaign_starts(campaign):
    campaign.status = Campaign.Status.SCHEDULED
    campaign.scheduled_at = timezone.now() + timedelta(hours=3, minutes=10)
    with timezone.override("Asia/Vladivostok"):
        when = CampaignAdmin.when(None, campaign)
        local = timezone.localtime(campaign.scheduled_at)
    assert when == f"Scheduled in 3 h 10 min — {local:%-d %b, %H:%M}"


# --- Scheduling from the pages. ------------------------------------------------------------


def test_scheduling_reads_the_picked_time_in_the_persons_zone_and_names_it(boss, campaign):
    page = boss.get(transition_url(campaign, "schedule")).content.decode()
    assert 'type="datetime-local"' in page
    assert "Asia/Vladivostok, UTC+10:00" in page
    campaign = scheduled(boss, campaign, tomorrow_at(9))
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.scheduled_at == tomorrow_at(9)
    changelist = boss.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert f"— {tomorrow_at(9):%-d %b}, 09:00" in changelist
    assert "Scheduled in " in changelist


def test_a_scheduled_campaign_offers_reschedule_and_back_to_draft(boss, campaign):
    scheduled(boss, campaign, tomorrow_at(9))
    page = boss.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "Reschedule…" in html
    assert "transition-reschedule" in html
    assert "Back to draft" in html
    assert "transition-unschedule" in html


def test_rescheduling_offers_the_current_time_and_moves_it(boss, campaign):
    scheduled(boss, campaign, tomorrow_at(9))
    form = boss.get(transition_url(campaign, "reschedule")).content.decode()
    assert f'value="{picker(tomorrow_at(9))}"' in form
    answer = boss.post(
        transition_url(campaign, "reschedule"), {"scheduled_at": picker(tomorrow_at(10))}
    )
    assert answer.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == ("scheduled", tomorrow_at(10))
    assert Delivery.objects.filter(campaign=campaign).count() == 3


def test_a_reschedule_to_the_past_is_a_form_error_and_changes_nothing(boss, campaign):
    scheduled(boss, campaign, tomorrow_at(9))
    past = timezone.now() - timedelta(hours=1)
    answer = boss.post(transition_url(campaign, "reschedule"), {"scheduled_at": picker(past)})
    assert answer.status_code == 200
    assert "Choose a time in the future, or dispatch now." in answer.content.decode()
    campaign.refresh_from_db()
    assert campaign.scheduled_at == tomorrow_at(9)


def test_a_time_the_clocks_skip_is_a_form_error_on_the_page(client, django_user_model, campaign):
    user = django_user_model.objects.create_superuser("hans", password="pw")
    StaffProfile.objects.create(user=user, time_zone="Europe/Berlin")
    client.force_login(user)
    # Europe's clocks go forward on the last Sunday of March, at 02:00.
    march_31 = date(timezone.now().year + 1, 3, 31)
    spring_forward = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    answer = client.post(
        transition_url(campaign, "schedule"), {"scheduled_at": f"{spring_forward}T02:30"}
    )
    assert answer.status_code == 200
    assert "the clocks go forward then" in answer.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_back_to_draft_says_what_is_discarded_then_the_campaign_is_a_draft_again(
    boss, campaign, django_capture_on_commit_callbacks
):
    scheduled(boss, campaign, tomorrow_at(9))
    question = boss.get(transition_url(campaign, "unschedule")).content.decode()
    assert "Nothing has been sent yet; the 3 deliveries prepared for it are discarded" in question
    assert boss.post(transition_url(campaign, "unschedule")).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.scheduled_at is None
    assert not Delivery.objects.filter(campaign=campaign).exists()

    # Editable again, and it can be sent once more.
    edit = boss.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    assert 'name="_save"' in edit.content.decode()
    with django_capture_on_commit_callbacks():
        assert boss.post(transition_url(campaign, "dispatch")).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_the_campaign_form_picks_the_time_in_the_persons_zone(boss, campaign):
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    page = boss.get(url).content.decode()
    assert 'type="datetime-local"' in page
    assert "Asia/Vladivostok, UTC+10:00" in page
    form = {
        "name": campaign.name,
        "channel": campaign.channel,
        "template": campaign.template_id,
        "audiences": list(campaign.audiences.values_list("pk", flat=True)),
        "scheduled_at": picker(tomorrow_at(9)),
        "caps_on": "on",
        "capped_action": "defer",
        "_save": "Save",
    }
    assert boss.post(url, form).status_code == 302
    campaign.refresh_from_db()
    assert campaign.scheduled_at == tomorrow_at(9)


# --- The person's own page. ----------------------------------------------------------------


def test_the_time_zone_page_offers_the_sites_zone_then_russias(boss):
    page = boss.get(reverse("staff_time_zone")).content.decode()
    assert page.index("Site default (UTC)") < page.index("Europe/Kaliningrad")
    assert page.index("Europe/Kaliningrad") < page.index("Asia/Kamchatka") < page.index("Africa/")
    assert "Times in Asia/Vladivostok" in page


def test_choosing_a_zone_on_the_page_keeps_it(boss):
    answer = boss.post(reverse("staff_time_zone"), {"time_zone": "Europe/Moscow"})
    assert answer.status_code == 302
    assert StaffProfile.objects.get(user__username="boss").time_zone == "Europe/Moscow"
    assert "Times in Europe/Moscow" in boss.get(answer.url).content.decode()


def test_an_unknown_zone_on_the_page_is_a_form_error(boss):
    answer = boss.post(reverse("staff_time_zone"), {"time_zone": "Mars/Olympus"})
    assert answer.status_code == 200
    assert "not a time zone this site knows" in answer.content.decode()
    assert StaffProfile.objects.get(user__username="boss").time_zone == "Asia/Vladivostok"


def test_the_time_zone_page_is_behind_the_admins_login(client):
    answer = client.get(reverse("staff_time_zone"))
    assert answer.status_code == 302
    assert "/admin/login/" in answer.url
