"""Sending from the admin: buttons per allowed transition, behind `dispatch_campaign`."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.models import Campaign, Delivery, Recipient
from notifications.sending.counters import counters_add
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def imshop(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "imshop-key"


@pytest.fixture
def campaign():
    recipients = [make_recipient(external_id=f"c-{i}") for i in range(3)]
    return make_campaign(make_audience(*recipients), name="Spring", template=make_template())


def editor(django_user_model, *, can_send: bool):
    user = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    codenames = ["view_campaign", "change_campaign"] + (["dispatch_campaign"] if can_send else [])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def transition_url(campaign, action):
    return reverse("admin:notifications_campaign_transition", args=[campaign.pk, action])


@pytest.mark.parametrize(
    ("people", "language", "asks"),
    [
        (1, "en", "Send &#x27;One&#x27; to 1 recipient on Imshop push?"),
        (2, "en", "Send &#x27;One&#x27; to 2 recipients on Imshop push?"),
        (1, "ru", "«One» 1 получателю в канале Пуш Imshop"),
        (3, "ru", "«One» 3 получателям в канале Пуш Imshop"),
    ],
)
def test_dispatch_asks_about_its_recipients_in_the_plural_form_of_their_number(
    admin_client, people, language, asks
):
    recipients = [make_recipient(external_id=f"o-{i}") for i in range(people)]
    one = make_campaign(make_audience(*recipients), name="One", template=make_template())
    page = admin_client.get(transition_url(one, "dispatch"), HTTP_ACCEPT_LANGUAGE=language)
    assert asks in page.content.decode()


def test_an_editor_without_the_permission_sees_no_sending_buttons_and_is_refused(
    client, django_user_model, campaign
):
    client.force_login(editor(django_user_model, can_send=False))
    page = client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200
    assert "transition-dispatch" not in page.content.decode()
    assert client.post(transition_url(campaign, "dispatch")).status_code == 403
    changelist = client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert "pause_selected" not in changelist
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_a_draft_offers_dispatch_and_a_test_send(client, django_user_model, campaign):
    client.force_login(editor(django_user_model, can_send=True))
    html = client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk])).content
    html = html.decode()
    assert "transition-dispatch" in html
    assert "transition-send_test" in html
    assert "transition-pause" not in html


def test_dispatch_asks_with_the_number_of_recipients_then_sends(
    client, django_user_model, campaign, django_capture_on_commit_callbacks
):
    client.force_login(editor(django_user_model, can_send=True))
    question = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert "Send &#x27;Spring&#x27; to 3 recipients on Imshop push?" in question
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(transition_url(campaign, "dispatch"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "running"
    assert campaign.dispatched_by.username == "editor"
    assert len(callbacks) == 1  # the materialise task, once the transaction committed


def test_a_failed_preflight_is_shown_and_nothing_is_sent(
    client, django_user_model, settings, campaign
):
    settings.IMSHOP_API_KEY = ""
    client.force_login(editor(django_user_model, can_send=True))
    page = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert "Imshop push is not configured: IMSHOP_API_KEY is not set" in page
    response = client.post(transition_url(campaign, "dispatch"))
    assert "IMSHOP_API_KEY is not set" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_an_illegal_transition_is_a_message_not_a_crash(client, django_user_model, campaign):
    client.force_login(editor(django_user_model, can_send=True))
    response = client.post(transition_url(campaign, "resume"))
    assert "Cannot resume &#x27;Spring&#x27;: it is draft." in response.content.decode()


def test_pause_selected_campaigns_asks_first_with_the_deliveries_left(admin_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    counters_add(campaign_id=campaign.pk, deltas={"pending": 40, "sent": 2})
    other = make_campaign(name="Draft one")
    changelist = reverse("admin:notifications_campaign_changelist")
    selection = {"action": "pause_selected", "_selected_action": [campaign.pk, other.pk]}
    question = admin_client.post(changelist, selection).content.decode()
    assert "Pause these campaigns? 40 deliveries have not been sent yet." in question
    assert "Cannot pause &#x27;Draft one&#x27;: it is draft. It is left out." in question
    assert f'value="{other.pk}"' not in question
    campaign.refresh_from_db()
    assert campaign.status == "running"

    response = admin_client.post(changelist, {**selection, "confirmed": "yes"}, follow=True)
    html = response.content.decode()
    assert "1 campaign done." in html
    assert "Cannot pause &#x27;Draft one&#x27;: it is draft." in html
    campaign.refresh_from_db()
    assert campaign.status == "paused"


def test_the_dispatch_confirmation_counts_the_people_afresh(client, django_user_model, campaign):
    client.force_login(editor(django_user_model, can_send=True))
    client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))  # kept: 3
    campaign.audiences.first().members.add(make_recipient(external_id="late"))
    question = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert "Send &#x27;Spring&#x27; to 4 recipients on Imshop push?" in question


def test_the_dispatch_confirmation_says_how_many_are_excluded(client, django_user_model, campaign):
    client.force_login(editor(django_user_model, can_send=True))
    campaign.excluded_audiences.set([make_audience(Recipient.objects.get(external_id="c-0"))])
    question = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert "(1 of 3 are skipped: excluded, opted out or no address)" in question


def no_button(html: str) -> bool:
    return 'value="Yes, ' not in html


def test_a_move_that_cannot_succeed_says_why_and_offers_no_button(client, django_user_model):
    client.force_login(editor(django_user_model, can_send=True))
    empty = make_campaign(make_audience(name="Nobody"), name="Empty", template=make_template())
    page = client.get(transition_url(empty, "dispatch")).content.decode()
    assert "The audience is empty" in page
    assert "Choose the audiences" in page
    assert no_button(page)
    response = client.post(transition_url(empty, "dispatch")).content.decode()
    assert response.count("The audience is empty") == 1  # said once, not again as a refusal
    empty.refresh_from_db()
    assert empty.status == "draft"


def test_a_completed_campaign_reached_with_the_back_button_cannot_be_dispatched(
    client, django_user_model, campaign
):
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    client.force_login(editor(django_user_model, can_send=True))
    page = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert "Cannot dispatch &#x27;Spring&#x27;: it is completed." in page
    assert no_button(page)
    page = client.get(transition_url(campaign, "retry_failed")).content.decode()
    assert "nothing to retry" in page
    assert no_button(page)


def test_a_provider_not_set_up_links_to_the_providers_page(
    client, django_user_model, settings, campaign
):
    settings.IMSHOP_API_KEY = ""
    client.force_login(editor(django_user_model, can_send=True))
    page = client.get(transition_url(campaign, "dispatch")).content.decode()
    assert reverse("admin:notifications_campaign_providers") in page
    assert no_button(page)


def test_the_dispatch_confirmation_counts_exactly_who_cannot_get_the_message(
    client, django_user_model
):
    people = [
        make_recipient(external_id=f"p-{i}", attributes={"city": "Omsk"} if i % 4 else {})
        for i in range(60)
    ]
    campaign = make_campaign(
        make_audience(*people), name="Cities", template=make_template(title="T", body="{{ city }}")
    )
    client.force_login(editor(django_user_model, can_send=True))
    page = client.get(transition_url(campaign, "dispatch")).content.decode()
    # 15 of 60 lack the city: all counted, not "of the first 20".
    assert "15 of the 60 reachable recipients cannot get this message" in page
    assert "of the first" not in page


def test_the_retry_question_names_the_version_and_warns_of_content_errors(
    client, django_user_model, campaign
):
    Campaign.objects.filter(pk=campaign.pk).update(
        status="completed", content={"title": "T", "body": "{{ city }}"}, content_version=1
    )
    Delivery.objects.bulk_create(
        Delivery(
            campaign=campaign,
            recipient=recipient,
            status="failed",
            error="render_error: body: 'city' is undefined",
            content_version=1,
        )
        for recipient in Recipient.objects.all()
    )
    counters_add(campaign_id=campaign.pk, deltas={"failed": 3})
    client.force_login(editor(django_user_model, can_send=True))
    page = client.get(transition_url(campaign, "retry_failed")).content.decode()
    assert "Send the 3 failed deliveries of &#x27;Spring&#x27; again with version 1" in page
    assert "3 of the 3 failed because of the message itself" in page
    assert "3 of them still cannot get it: they have no &#x27;city&#x27;" in page
    assert reverse("admin:notifications_campaign_content", args=[campaign.pk]) in page
    assert not no_button(page)  # their data may have been fixed instead: still allowed


def test_copy_makes_a_draft_and_opens_it(client, django_user_model, campaign):
    user = editor(django_user_model, can_send=False)
    user.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    client.force_login(user)
    response = client.post(transition_url(campaign, "copy"))
    copy = Campaign.objects.get(name="Copy of Spring")
    assert response.url == reverse("admin:notifications_campaign_change", args=[copy.pk])
    assert copy.status == "draft"


def test_the_copy_question_says_the_sendios_ids_stay_behind(admin_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(sendios_project_id=1, sendios_template_id=2)
    page = admin_client.get(transition_url(campaign, "copy")).content.decode()
    assert "Its Sendios ids are not copied" in page
