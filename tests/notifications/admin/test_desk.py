"""The campaign desk: list columns, the send plan, previews and warnings, live progress, the
funnel and timeline, the provider page, and who may see and do what."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone, translation

from notifications.audiences.services import audience_sizes_rebuild
from notifications.campaigns.lifecycle import campaign_pause
from notifications.campaigns.people import campaign_people_count
from notifications.models import Campaign, Delivery, DeliveryEvent, Recipient
from notifications.reasons import reason_encode
from notifications.sending.counters import counters_add
from tests.factories import (
    make_audience,
    make_campaign,
    make_recipient,
    make_sent,
    make_template,
)
from tests.support.long_texts import AT_AND_OVER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def providers(settings):
    settings.LEADCONVERTER_API_URL = "https://leadconverter.test/api/v1"
    settings.LEADCONVERTER_TOKEN = "lc-token-never-shown"
    settings.YANDEX_MARKET_API_KEY = "ym-key-never-shown"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"


def change_url(campaign):
    return reverse("admin:notifications_campaign_change", args=[campaign.pk])


def user_with(django_user_model, *codenames, name="staffer"):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


VIEW_ALL = [
    "view_campaign",
    "view_recipient",
    "view_audience",
    "view_messagetemplate",
    "view_delivery",
    "view_deliveryevent",
    "view_address",
    "view_bitrix24token",
]


@pytest.fixture
def chat_campaign():
    """48 recipients on Yandex Market: 45 with a chat, 2 without, 1 opted out."""
    people = [
        make_recipient(
            external_id=f"y-{i}",
            first_name=f"Person{i}",
            attributes={"city": "Kazan"} if i % 3 else {},
            addresses={"yandex_market": str(1000 + i)} if i < 46 else {},
            opted_out_at=timezone.now() if i == 0 else None,
        )
        for i in range(48)
    ]
    template = make_template(body="Hi {{ first_name }}, news from {{ city }}!")
    return make_campaign(
        make_audience(*people), name="Chats", channel="yandex_market", template=template
    )


def running(campaign, **counts):
    Campaign.objects.filter(pk=campaign.pk).update(
        status="running",
        started_at=timezone.now() - timedelta(minutes=30),
        dispatched_at=timezone.now() - timedelta(minutes=30),
        materialised_at=timezone.now() - timedelta(minutes=30),
        content={"body": "Hi"},
    )
    counters_add(campaign_id=campaign.pk, deltas=counts)
    campaign.refresh_from_db()
    return campaign


# --- Draft: the send plan, previews and warnings ------------------------------------------


def test_a_draft_shows_the_send_plan_with_who_is_skipped_and_why(admin_client, chat_campaign):
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    # 48 in the audience, 1 opted out, 2 without a chat: 45 chats at 1,000 an hour.
    assert "45 Yandex Market chats at 1,000/hour ≈ 3 min" in html
    assert 'data-plan="reachable">45<' in html
    assert "Skipped: no Yandex Market chat address" in html
    assert "reach=opted_out" in html


def test_the_send_plan_declines_its_messages_in_russian(admin_client, chat_campaign):
    page = admin_client.get(change_url(chat_campaign), HTTP_ACCEPT_LANGUAGE="ru")
    assert "45 чатов Yandex Market со скоростью 1\xa0000/час: ≈ 3 мин" in page.content.decode()


def test_the_plan_counts_requests_where_messages_share_them(admin_client):
    people = [make_recipient(addresses={"leadconverter": str(i)}) for i in range(250)]
    campaign = make_campaign(
        make_audience(*people), channel="leadconverter", template=make_template(body="Same")
    )
    html = admin_client.get(change_url(campaign)).content.decode()
    assert "250 LeadConverter messages in 3 requests at 5/second under a minute" in html


def test_a_draft_previews_the_message_for_real_recipients(admin_client, chat_campaign):
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert "Hi Person1, news from Kazan!" in html
    assert html.count('class="preview-card') == 3


def test_a_template_that_does_not_read_names_its_field_as_staff_know_it(
    admin_client, chat_campaign
):
    chat_campaign.template.body = "Hi {{ first_name"
    chat_campaign.template.save()
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert re.search(r'<div class="preview-error">Message: [^<]+</div>', html)


def test_a_draft_warns_how_many_recipients_lack_a_variable(admin_client, chat_campaign):
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    # Every third recipient (0, 3, ..., 45) has no city: 15 of the 45 reachable (0 opted out).
    assert "15 of 45 recipients have no &#x27;city&#x27;" in html


def test_a_variable_with_a_default_is_no_warning(admin_client, chat_campaign):
    chat_campaign.template.body = "Hi from {{ city | default: 'us' }}"
    chat_campaign.template.save()
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert "recipients have no" not in html


def test_a_draft_warns_when_the_text_is_too_long_for_the_channel(admin_client, chat_campaign):
    chat_campaign.template.body = "x" * 5000
    chat_campaign.template.save()
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert "Yandex Market accepts at most 4096 characters; this text has 5000." in html


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_draft_measures_the_text_in_characters_not_bytes(
    admin_client, chat_campaign, made_of, at, over
):
    warning = "Yandex Market accepts at most 4096 characters; this text has"
    chat_campaign.template.body = at
    chat_campaign.template.save()
    assert warning not in admin_client.get(change_url(chat_campaign)).content.decode()
    chat_campaign.template.body = over
    chat_campaign.template.save()
    assert f"{warning} 4097." in admin_client.get(change_url(chat_campaign)).content.decode()


def test_an_unconfigured_provider_is_said_on_the_plan(admin_client, chat_campaign, settings):
    settings.YANDEX_MARKET_API_KEY = ""
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert "Yandex Market chat is not configured: YANDEX_MARKET_API_KEY is not set" in html
    assert "ym-key-never-shown" not in html


def test_the_send_plan_links_lead_to_exactly_those_recipients(admin_client, chat_campaign):
    recipients = reverse("admin:notifications_recipient_changelist")

    def listed(reach):
        page = admin_client.get(recipients, {"campaign": chat_campaign.pk, "reach": reach})
        return {r.external_id for r in page.context["cl"].result_list}

    assert listed("opted_out") == {"y-0"}
    assert listed("no_address") == {"y-46", "y-47"}
    assert len(listed("reachable")) == 45


def test_each_number_of_the_send_plan_opens_as_many_recipients(admin_client, chat_campaign):
    chat_campaign.excluded_audiences.set(
        [make_audience(*Recipient.objects.filter(external_id__in=["y-0", "y-1", "y-46"]))]
    )
    desk = admin_client.get(change_url(chat_campaign)).context["desk"]
    plan, opened = desk["plan"], {}
    for name, url in desk["links"].items():
        opened[name] = admin_client.get(url).context["cl"].result_count
    assert opened == {
        "audience": plan.people,
        "excluded": plan.excluded,
        "opted_out": plan.opted_out,
        "no_address": plan.no_address,
        "reachable": plan.reachable,
    }
    assert (plan.excluded, plan.opted_out, plan.no_address) == (3, 0, 1)


def test_a_draft_page_says_when_its_people_were_counted_and_offers_a_recount(
    admin_client, chat_campaign
):
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    assert "People counted just now" in html
    assert reverse("admin:notifications_campaign_recount", args=[chat_campaign.pk]) in html


def test_a_draft_page_shows_the_kept_count_while_it_is_recent(admin_client, chat_campaign):
    admin_client.get(change_url(chat_campaign))
    chat_campaign.audiences.first().members.add(make_recipient(addresses={"yandex_market": "9"}))
    desk = admin_client.get(change_url(chat_campaign)).context["desk"]
    assert desk["plan"].people == 48


def test_a_draft_page_counts_again_when_the_kept_count_is_older_than_a_few_minutes(
    admin_client, chat_campaign
):
    admin_client.get(change_url(chat_campaign))
    chat_campaign.audiences.first().members.add(make_recipient(addresses={"yandex_market": "9"}))
    Campaign.objects.filter(pk=chat_campaign.pk).update(
        people_counted_at=timezone.now() - timedelta(minutes=6)
    )
    desk = admin_client.get(change_url(chat_campaign)).context["desk"]
    assert desk["plan"].people == 49


def test_the_recount_button_counts_again_now(admin_client, chat_campaign):
    admin_client.get(change_url(chat_campaign))
    chat_campaign.audiences.first().members.add(make_recipient(addresses={"yandex_market": "9"}))
    response = admin_client.post(
        reverse("admin:notifications_campaign_recount", args=[chat_campaign.pk]), follow=True
    )
    assert "Counted: 49 people, 46 reachable." in response.content.decode()
    assert response.context["desk"]["plan"].people == 49


def test_someone_who_may_only_view_cannot_recount(client, django_user_model, chat_campaign):
    client.force_login(user_with(django_user_model, *VIEW_ALL))
    url = reverse("admin:notifications_campaign_recount", args=[chat_campaign.pk])
    assert client.post(url).status_code == 403
    assert "plan-recount" not in client.get(change_url(chat_campaign)).content.decode()


def test_a_draft_offers_dispatch_now_schedule_and_test(admin_client, chat_campaign):
    html = admin_client.get(change_url(chat_campaign)).content.decode()
    for action in ("dispatch", "schedule", "send_test"):
        assert f"transition-{action}" in html
    assert "transition-pause" not in html


def test_schedule_needs_a_future_time_and_then_schedules(
    admin_client, chat_campaign, django_capture_on_commit_callbacks
):
    url = reverse("admin:notifications_campaign_transition", args=[chat_campaign.pk, "schedule"])
    question = admin_client.get(url).content.decode()
    assert "Schedule &#x27;Chats&#x27; to 45 recipients on Yandex Market chat" in question
    assert "(3 of 48 are skipped: opted out or no address)" in question
    past = admin_client.post(url, {"scheduled_at": "2001-01-01 09:00"})
    # The service refuses; the page shows it beside the field it names.
    assert past.context["form"].errors == {
        "scheduled_at": ["Choose a time in the future, or dispatch now."]
    }
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    with django_capture_on_commit_callbacks(execute=False):
        assert admin_client.post(url, {"scheduled_at": later}).status_code == 302
    chat_campaign.refresh_from_db()
    assert chat_campaign.status == "scheduled"


# --- Sending and after: progress, funnel, timeline ----------------------------------------


def test_a_running_campaign_shows_progress_rate_and_a_poll_address(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=30, pending=10, failed=2, skipped=3)
    now = timezone.now()
    make_sent(campaign, *(now - timedelta(seconds=s) for s in range(12)))
    html = admin_client.get(change_url(campaign)).content.decode()
    assert "data-progress-url" in html
    assert '<strong data-live="headline">77 % — 35 of 45 deliveries done</strong>' in html
    assert '<span data-live="rate_per_minute">12.0</span> / min' in html
    assert "transition-pause" in html
    assert "Retry 2 failed" in html


def test_the_progress_endpoint_answers_json_from_the_counters(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=5, pending=5)
    url = reverse("admin:notifications_campaign_progress", args=[campaign.pk])
    data = admin_client.get(url).json()
    assert data["status"] == "running"
    assert (data["done"], data["total"], data["percent"], data["left"]) == (5, 10, 50, 5)
    assert data["eta"]


def test_a_paused_campaign_says_why(admin_client, chat_campaign):
    campaign = running(chat_campaign, pending=5)
    Campaign.objects.filter(pk=campaign.pk).update(
        status="paused", pause_reason="yandex_market: the provider refused our key"
    )
    html = admin_client.get(change_url(campaign)).content.decode()
    assert "yandex_market: the provider refused our key" in html
    assert "transition-resume" in html
    assert "data-progress-url" not in html


def test_a_finished_campaign_shows_the_funnel_with_links(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=40, failed=2, unknown=1, skipped=3)
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    html = admin_client.get(change_url(campaign)).content.decode()
    deliveries = reverse("admin:notifications_delivery_changelist")
    assert f"{deliveries}?campaign__id__exact={campaign.pk}&amp;status__exact=failed" in html
    assert 'data-live-count="sent">40<' in html
    assert 'data-live-count="total">46<' in html
    assert "Resend 1 unknown" in html


def test_the_timeline_draws_sends_and_sms_events_per_minute(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=3)
    Campaign.objects.filter(pk=campaign.pk).update(
        status="completed", sendios_project_id=1, sendios_template_id=2
    )
    campaign.refresh_from_db()
    start = campaign.started_at
    make_sent(campaign, start + timedelta(minutes=1), start + timedelta(minutes=1))
    moments = [(5, "failed"), (6, "sms_sent"), (7, "sms_click")]
    for minute, kind in moments:
        DeliveryEvent.objects.create(
            type=kind, campaign=campaign, occurred_at=start + timedelta(minutes=minute), sms_id=7
        )
    html = admin_client.get(change_url(campaign)).content.decode()
    assert "Sends per minute" in html
    assert html.count('<rect class="bar sent"') == 1
    assert html.count('<rect class="bar failed"') == 1
    assert "SMS events per minute" in html
    assert "Clicks: 1" in html
    events = reverse("admin:notifications_deliveryevent_changelist")
    assert f"{events}?campaign__id__exact={campaign.pk}&amp;type__exact=sms_click" in html
    assert 'id="sms-funnel"' in html


def test_the_funnel_numbers_lead_to_lists_that_open(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=1)
    recipient = chat_campaign.audiences.first().members.first()
    Delivery.objects.create(campaign=campaign, recipient=recipient, status="sent")
    deliveries = reverse("admin:notifications_delivery_changelist")
    filters = {"campaign__id__exact": campaign.pk}
    page = admin_client.get(deliveries, {**filters, "status__exact": "sent"})
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 1
    events = reverse("admin:notifications_deliveryevent_changelist")
    page = admin_client.get(events, {**filters, "type__exact": "sms_click"})
    assert page.status_code == 200


# --- Follow-up audiences from a dispatched campaign's outcomes -----------------------------


def _outcomes(campaign):
    """A running campaign of 4: two sent (one clicked an SMS link), one failed, one skipped."""
    people = list(Recipient.objects.filter(audiences__campaigns=campaign).order_by("pk")[:4])
    for person, status in zip(people, ["sent", "sent", "failed", "skipped"], strict=True):
        Delivery.objects.create(campaign=campaign, recipient=person, status=status)
    DeliveryEvent.objects.create(type="sms_click", campaign=campaign, recipient=people[0], sms_id=1)
    return running(campaign, sent=2, failed=1, skipped=1)


def test_a_sent_campaign_offers_new_audiences_from_its_outcomes(admin_client, chat_campaign):
    campaign = _outcomes(chat_campaign)
    links = admin_client.get(change_url(campaign)).context["desk"]["follow_ups"]
    assert [(link["label"], link["count"], link["url"]) for link in links] == [
        (label, 1, f"/admin/notifications/campaign/{campaign.pk}/follow-up/{outcome}/")
        for label, outcome in [
            ("failed", "failed"),
            ("skipped", "skipped"),
            ("sent but not clicked", "sent_not_clicked"),
            ("clicked", "clicked"),
        ]
    ]


def test_the_follow_up_line_sits_under_the_funnel(admin_client, chat_campaign):
    campaign = _outcomes(chat_campaign)
    html = admin_client.get(change_url(campaign)).content.decode()
    assert "New audience from:" in html
    assert f'href="/admin/notifications/campaign/{campaign.pk}/follow-up/failed/"' in html


# --- The list -----------------------------------------------------------------------------


def test_the_list_shows_badges_progress_and_counts_in_a_few_queries(
    admin_client, chat_campaign, django_assert_max_num_queries
):
    running(chat_campaign, sent=30, pending=10, failed=2)
    for i in range(10):
        make_campaign(name=f"more-{i}")
    url = reverse("admin:notifications_campaign_changelist")
    admin_client.get(url)  # warm up the session and content types
    with django_assert_max_num_queries(14):
        html = admin_client.get(url).content.decode()
    assert '<span class="badge status-running">Running</span>' in html
    assert 'aria-valuenow="76"' in html  # 32 of 42 done
    assert "32 of 42" in html
    assert "status__exact=failed" in html


def test_the_list_shows_a_drafts_people_with_the_age_of_their_count(admin_client):
    both = make_recipient()
    campaign = make_campaign(make_audience(both, make_recipient()), make_audience(both))
    campaign_people_count(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(
        people_counted_at=timezone.now() - timedelta(minutes=2)
    )
    html = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert '≈ 2</a> <span class="quiet">counted 2 min ago</span>' in html


def test_the_list_shows_a_single_static_audiences_kept_size_without_counting(admin_client):
    campaign = make_campaign(make_audience(make_recipient(), make_recipient()))
    audience_sizes_rebuild()
    html = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert f'href="/admin/notifications/recipient/?campaign={campaign.pk}">2</a>' in html


def test_the_list_filters_by_status_channel_and_creator(admin_client, chat_campaign):
    url = reverse("admin:notifications_campaign_changelist")
    for params in ({"status__exact": "draft"}, {"channel__exact": "yandex_market"}):
        page = admin_client.get(url, params)
        assert [c.name for c in page.context["cl"].result_list] == ["Chats"]
    assert "created_by" in admin_client.get(url).content.decode()


# --- Providers ----------------------------------------------------------------------------


def test_the_provider_page_shows_status_and_limits_never_a_secret(admin_client, settings):
    settings.IMSHOP_API_KEY = ""
    html = admin_client.get(reverse("admin:notifications_campaign_providers")).content.decode()
    assert "IMSHOP_API_KEY is not set" in html or "IMSHOP_PUSH_URL is not set" in html
    assert "1,000/hour" in html  # Yandex Market
    assert "account 42" in html
    assert "lc-token-never-shown" not in html
    assert "ym-key-never-shown" not in html


def test_the_provider_page_shows_the_last_error(admin_client, chat_campaign):
    campaign = running(chat_campaign, failed=1)
    DeliveryEvent.objects.create(type="failed", campaign=campaign, detail="chat 1001 is closed")
    url = reverse("admin:notifications_campaign_providers")
    html = admin_client.get(url).content.decode()
    assert "Failed: chat 1001 is closed" in html
    # The outcome by its name in the reader's language, the provider's words as they came.
    html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Не отправлено: chat 1001 is closed" in html


def test_the_provider_page_says_a_breakers_pause_in_russian_and_not_a_staff_pause(
    admin_client, chat_campaign
):
    campaign = running(chat_campaign, sent=1)
    breaker = reason_encode("breaker", channel="yandex_market", count=3, error="HTTP 500")
    Campaign.objects.filter(pk=campaign.pk).update(
        status="paused", pause_reason=breaker, pause_cause="breaker"
    )
    with translation.override("en"):
        html = admin_client.get(
            reverse("admin:notifications_campaign_providers"), HTTP_ACCEPT_LANGUAGE="ru"
        ).content.decode()
    assert "3 запроса подряд не прошли; последняя ошибка: HTTP 500" in html
    Campaign.objects.filter(pk=campaign.pk).update(
        pause_reason=reason_encode("paused_by", who="boss"), pause_cause="staff"
    )
    html = admin_client.get(reverse("admin:notifications_campaign_providers")).content.decode()
    assert "Paused by boss." not in html


def test_the_provider_page_shows_the_quota_the_provider_reported(admin_client):
    from datetime import UTC, datetime

    from notifications.models import ProviderQuota

    ProviderQuota.objects.create(
        key="yandex_market:42",
        limit=1000,
        remaining=640,
        resets_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        seen_at=datetime(2026, 11, 23, 13, 20, tzinfo=UTC),
    )
    html = admin_client.get(reverse("admin:notifications_campaign_providers")).content.decode()
    assert "Yandex Market chat reports 640 of 1,000 left until 23 Nov, 14:00" in html


# --- Recipient page -----------------------------------------------------------------------


def test_the_recipient_page_shows_addresses_audiences_deliveries_and_events(
    admin_client, chat_campaign
):
    campaign = running(chat_campaign, sent=1)
    recipient = chat_campaign.audiences.first().members.get(external_id="y-5")
    delivery = Delivery.objects.create(campaign=campaign, recipient=recipient, status="sent")
    DeliveryEvent.objects.create(
        type="sent", campaign=campaign, delivery=delivery, recipient=recipient
    )
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    html = admin_client.get(url).content.decode()
    assert "1005" in html  # the Yandex Market chat
    assert chat_campaign.audiences.first().name in html
    assert "All deliveries of this recipient" in html
    assert "All events of this recipient" in html


# --- Permissions --------------------------------------------------------------------------


def test_a_view_only_user_sees_every_page_and_no_button(client, django_user_model, chat_campaign):
    client.force_login(user_with(django_user_model, *VIEW_ALL))
    draft = client.get(change_url(chat_campaign)).content.decode()
    assert "Send plan" in draft
    assert "transition-" not in draft
    running_one = running(make_campaign(name="Live"), sent=1, pending=1)
    live = client.get(change_url(running_one)).content.decode()
    assert "Delivery funnel" in live
    assert "transition-" not in live
    for url in [
        reverse("admin:notifications_campaign_changelist"),
        reverse("admin:notifications_campaign_providers"),
        reverse("admin:notifications_campaign_progress", args=[running_one.pk]),
        reverse("admin:notifications_recipient_changelist"),
        reverse("admin:notifications_audience_changelist"),
    ]:
        assert client.get(url).status_code == 200, url
    changelist = client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert "pause_selected" not in changelist
    assert (
        "Import recipients"
        not in client.get(reverse("admin:notifications_audience_changelist")).content.decode()
    )


@pytest.mark.parametrize(
    "action", ["dispatch", "schedule", "pause", "resume", "cancel", "retry_failed", "send_test"]
)
def test_a_view_only_user_is_refused_every_transition(
    client, django_user_model, chat_campaign, action
):
    client.force_login(user_with(django_user_model, *VIEW_ALL))
    url = reverse("admin:notifications_campaign_transition", args=[chat_campaign.pk, action])
    assert client.post(url, {"scheduled_at": "2099-01-01 09:00"}).status_code == 403
    chat_campaign.refresh_from_db()
    assert chat_campaign.status == "draft"


def test_a_view_only_user_cannot_change_or_import(client, django_user_model, chat_campaign):
    client.force_login(user_with(django_user_model, *VIEW_ALL))
    response = client.post(change_url(chat_campaign), {"name": "Renamed"})
    assert response.status_code == 403
    assert client.get(reverse("admin:notifications_audience_import")).status_code == 403
    bulk = client.post(
        reverse("admin:notifications_campaign_changelist"),
        {"action": "cancel_selected", "_selected_action": [chat_campaign.pk], "confirmed": "yes"},
    )
    assert bulk.status_code in (200, 302)
    chat_campaign.refresh_from_db()
    assert chat_campaign.status == "draft"


def test_an_editor_without_dispatch_sees_no_sending_button_anywhere(
    client, django_user_model, chat_campaign
):
    client.force_login(user_with(django_user_model, *VIEW_ALL, "change_campaign", "add_campaign"))
    buttons = re.compile(r'class="transition-(\w+)"')
    # Copying makes a draft (add_campaign), not a send: the one button they may have.
    assert buttons.findall(client.get(change_url(chat_campaign)).content.decode()) == ["copy"]
    running_one = running(make_campaign(name="Live"), sent=1, pending=1)
    assert buttons.findall(client.get(change_url(running_one)).content.decode()) == ["copy"]
    url = reverse("admin:notifications_campaign_transition", args=[running_one.pk, "pause"])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    running_one.refresh_from_db()
    assert running_one.status == "running"


def test_the_progress_endpoint_needs_view_permission(client, django_user_model, chat_campaign):
    client.force_login(user_with(django_user_model, "view_recipient"))
    url = reverse("admin:notifications_campaign_progress", args=[chat_campaign.pk])
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:notifications_campaign_providers")).status_code == 403


# --- Progress that tells the truth: the bar, the state, the time left -----------------------


def live_of(client, campaign):
    return client.get(reverse("admin:notifications_campaign_progress", args=[campaign.pk])).json()


def limiter_key(channel="yandex_market"):
    from notifications.providers.registry import build_provider

    return f"{channel}:{build_provider(channel).account}"


def sending_now(campaign, **counts):
    """A running campaign whose worker was seen a moment ago."""
    campaign = running(campaign, **counts)
    Campaign.objects.filter(pk=campaign.pk).update(worker_seen_at=timezone.now())
    campaign.refresh_from_db()
    return campaign


def deliveries(campaign, status, count, **fields):
    people = Recipient.objects.filter(audiences__campaigns=campaign).exclude(
        deliveries__campaign=campaign
    )[:count]
    return [
        Delivery.objects.create(campaign=campaign, recipient=person, status=status, **fields)
        for person in people
    ]


def test_a_cancelled_campaign_bar_shows_what_was_sent_and_the_cancelled_part_not_done(
    admin_client, chat_campaign
):
    campaign = running(chat_campaign, sent=13, cancelled=287)
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")
    response = admin_client.get(change_url(campaign))
    html = response.content.decode()
    assert "Cancelled — 13 of 300 sent" in html
    assert "100 %" not in html
    parts = response.context["desk"]["live"]["parts"]
    assert (parts["sent"], parts["cancelled"]) == (4.33, 95.67)


def test_the_list_bar_of_a_cancelled_campaign_says_what_was_sent(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=13, cancelled=287)
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")
    html = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert "13 of 300 sent" in html
    assert 'class="part part-cancelled" style="width: 95.67%"' in html


def test_a_pause_by_staff_is_information_with_who_and_when(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=5, pending=5)
    Campaign.objects.filter(pk=campaign.pk).update(
        status="paused", pause_reason="Paused by boss.", pause_cause="staff"
    )
    html = admin_client.get(change_url(campaign)).content.decode()
    state = re.search(r'<p id="live-state" class="([^"]*)"[^>]*>(.*?)</p>', html, re.S)
    assert "errornote" not in state.group(1)
    assert "Paused by boss. (just now) Resume to go on." in state.group(2)
    assert "Paused — 5 of 10 deliveries done" in html


def test_a_pause_by_the_breaker_is_an_alert_that_says_what_to_do(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=5, pending=5)
    Campaign.objects.filter(pk=campaign.pk).update(
        status="paused",
        pause_reason="The provider failed 5 requests in a row.",
        pause_cause="breaker",
    )
    live = live_of(admin_client, campaign)
    assert live["alert"] is True
    assert "Check the provider's settings on the Providers page, then Resume" in live["state_text"]
    assert live["help_url"] == reverse("admin:notifications_campaign_providers")
    html = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert "Paused: provider kept failing" in html


def test_preparing_is_said_only_while_a_worker_prepares(admin_client, chat_campaign):
    campaign = sending_now(chat_campaign)
    Campaign.objects.filter(pk=campaign.pk).update(materialised_at=None)
    assert live_of(admin_client, campaign)["state"] == "preparing"
    Campaign.objects.filter(pk=campaign.pk).update(
        worker_seen_at=timezone.now() - timedelta(minutes=10)
    )
    live = live_of(admin_client, campaign)
    assert live["state"] == "no_worker"
    assert "the background worker seems to have stopped" in live["state_text"]
    assert live["alert"] is True


def test_a_scheduled_campaign_says_when_it_starts(admin_client, chat_campaign):
    Campaign.objects.filter(pk=chat_campaign.pk).update(
        status="scheduled", scheduled_at=timezone.now() + timedelta(hours=3, minutes=10)
    )
    live = live_of(admin_client, chat_campaign)
    assert live["state"] == "scheduled"
    assert live["state_text"].startswith("Scheduled: starts in ≈ 3 h 10 min")


def test_claimed_deliveries_waiting_for_a_turn_are_waiting_not_being_sent(
    admin_client, chat_campaign
):
    campaign = sending_now(chat_campaign, sending=3)
    deliveries(campaign, "sending", 2)  # claimed, their request not begun
    deliveries(campaign, "sending", 1, request_started_at=timezone.now())
    from notifications.sending.limiter import Rule, get_limiter

    # Another sender on the same account took a turn that keeps the next one 8 s away.
    get_limiter().backend.reserve(limiter_key(), Rule(interval=8, burst=1, parallel=None), 0)
    live = live_of(admin_client, campaign)
    assert (live["counts"]["waiting"], live["counts"]["in_flight"]) == (2, 1)
    assert live["state"] == "sending"
    Delivery.objects.filter(campaign=campaign, request_started_at__isnull=False).update(
        status="sent"
    )
    live = live_of(admin_client, campaign)
    assert live["state"] == "waiting"
    assert re.fullmatch(
        r"Waiting for the provider's limit: next request in [1-8] s\.", live["state_text"]
    )
    assert live["eta_seconds"] > 1  # nothing goes out before the next turn


def test_a_hold_by_the_provider_says_until_when_and_why(admin_client, chat_campaign):
    from notifications.sending.limiter import get_limiter

    campaign = sending_now(chat_campaign, pending=1)
    deliveries(campaign, "pending", 1)
    until = timezone.now() + timedelta(minutes=5)
    get_limiter().hold(limiter_key(), until=until.timestamp(), reason="420 from the provider")
    live = live_of(admin_client, campaign)
    assert live["state"] == "held"
    assert live["state_text"] == (
        f"Held by the provider until {timezone.localtime(until):%H:%M:%S} "
        "(420 from the provider). Sending goes on by itself then."
    )


def test_the_time_left_says_what_it_rests_on(admin_client, chat_campaign):
    campaign = sending_now(chat_campaign, pending=10)
    deliveries(campaign, "pending", 10)
    live = live_of(admin_client, campaign)
    assert live["eta_basis"].startswith("at the provider's limit of ")


def test_the_timeline_endpoint_draws_the_running_campaigns_chart_to_refresh(
    admin_client, chat_campaign
):
    campaign = running(chat_campaign, sent=2)
    make_sent(campaign, timezone.now())
    url = reverse("admin:notifications_campaign_timeline", args=[campaign.pk])
    assert f'data-timeline-url="{url}"' in admin_client.get(change_url(campaign)).content.decode()

    html = admin_client.get(url).content.decode()
    assert html.count('<rect class="bar sent"') == 1
    assert "Sent: 1<" in html
    assert f'data-timeline-url="{url}"' in html
    assert "<html" not in html

    make_sent(campaign, timezone.now())
    assert "Sent: 2<" in admin_client.get(url).content.decode()


def test_a_finished_campaigns_timeline_asks_for_no_more_refreshes(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=1)
    make_sent(campaign, timezone.now())
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    url = reverse("admin:notifications_campaign_timeline", args=[campaign.pk])
    html = admin_client.get(url).content.decode()
    assert "Sent: 1<" in html
    assert "data-timeline-url" not in html
    assert "data-timeline-url" not in admin_client.get(change_url(campaign)).content.decode()


def test_the_timeline_endpoint_needs_the_permission_the_page_needs(
    client, django_user_model, chat_campaign
):
    campaign = running(chat_campaign, sent=1)
    url = reverse("admin:notifications_campaign_timeline", args=[campaign.pk])
    client.force_login(user_with(django_user_model, "view_recipient"))
    assert client.get(url).status_code == 403
    client.force_login(user_with(django_user_model, "view_campaign", name="viewer"))
    assert client.get(url).status_code == 200


def test_a_pause_by_staff_reads_in_the_russian_readers_language(admin_client, chat_campaign):
    campaign = running(chat_campaign, sent=5, pending=5)
    boss = User.objects.create_user("boss", is_staff=True)
    campaign_pause(campaign_id=campaign.pk, user=boss)
    with translation.override("en"):
        html = admin_client.get(change_url(campaign), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    state = re.search(r'<p id="live-state" class="([^"]*)"[^>]*>(.*?)</p>', html, re.S)
    assert "Поставлено на паузу: boss." in state.group(2)
    english = admin_client.get(change_url(campaign)).content.decode()
    assert "Paused by boss." in english
