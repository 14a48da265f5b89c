"""The send-test page and its results under the campaign: one click to the test list, refusals
as form errors, each person's exact message and the provider's answer, tests out of the list."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.models import Campaign, Delivery, SeedRecipient
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def leadconverter(settings):
    settings.LEADCONVERTER_API_URL = "https://leadconverter.test/api/v1"
    settings.LEADCONVERTER_TOKEN = "lc-token"


@pytest.fixture
def campaign():
    template = make_template(title="", body="Hello {{ first_name }}")
    return make_campaign(
        make_audience(make_recipient()), name="Spring", channel="leadconverter", template=template
    )


def sender(django_user_model, *, can_send: bool = True):
    user = django_user_model.objects.create_user("anna", password="pw", is_staff=True)
    codenames = ["view_campaign", "view_recipient"] + (["dispatch_campaign"] if can_send else [])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def send_url(campaign):
    return reverse("admin:notifications_campaign_test_send", args=[campaign.pk])


def on_list(owner, **fields):
    recipient = make_recipient(**fields)
    SeedRecipient.objects.create(recipient=recipient, owner=owner)
    return recipient


def test_the_page_shows_the_message_and_the_test_list_ticked_with_who_cannot_get_it(
    client, django_user_model, campaign
):
    me = sender(django_user_model)
    anna = on_list(me, first_name="Anna", addresses={"leadconverter": "701"})
    team = on_list(None, first_name="Team", addresses={"leadconverter": "702"})
    nobody = on_list(me, first_name="Nobody")
    client.force_login(me)

    html = client.get(send_url(campaign)).content.decode()

    assert "Hello {{ first_name }}" in html
    assert f'value="{anna.pk}" id="seed-{anna.pk}" checked' in html
    assert f'value="{team.pk}" id="seed-{team.pk}" checked' in html
    assert f'value="{nobody.pk}" id="seed-{nobody.pk}" disabled' in html
    assert "No LeadConverter address." in html
    assert "Send to my test list (2)" in html


def test_sending_to_the_list_makes_a_test_under_the_campaign_and_goes_to_the_results(
    client, django_user_model, campaign, django_capture_on_commit_callbacks
):
    me = sender(django_user_model)
    anna = on_list(me, first_name="Anna", addresses={"leadconverter": "701"})
    other = make_recipient(first_name="Boris", addresses={"leadconverter": "702"})
    client.force_login(me)

    with django_capture_on_commit_callbacks():
        response = client.post(send_url(campaign), {"seeds": [anna.pk], "others": [other.pk]})

    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    assert response.status_code == 302
    assert response.url == f"{change_url}#test-sends"
    test = Campaign.objects.get(parent=campaign)
    assert test.kind == Campaign.Kind.TEST
    assert test.created_by == me
    assert set(test.deliveries.values_list("recipient_id", flat=True)) == {anna.pk, other.pk}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("nobody", "Choose at least one recipient"),
        ("too many", "A test goes to at most 50 recipients."),
        ("cancelled", "Cannot send a test of &#x27;Spring&#x27;: it is cancelled."),
    ],
)
def test_a_refused_test_is_a_form_error_and_sends_nothing(
    client, django_user_model, campaign, case, error
):
    me = sender(django_user_model)
    people = [make_recipient(addresses={"leadconverter": str(800 + i)}) for i in range(51)]
    data = {"seeds": []}
    if case == "too many":
        data = {"others": [p.pk for p in people]}
    elif case == "cancelled":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
        data = {"others": [people[0].pk]}
    client.force_login(me)

    response = client.post(send_url(campaign), data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert not Campaign.objects.filter(parent=campaign).exists()


def test_only_staff_who_may_dispatch_open_the_page(client, django_user_model, campaign):
    client.force_login(sender(django_user_model, can_send=False))
    assert client.get(send_url(campaign)).status_code == 403
    assert client.post(send_url(campaign), {}).status_code == 403


def finish(test, content, answer=None, error="", status=Delivery.Status.SENT):
    # What the send loop records for a delivery: the rendered message and the provider's answer.
    Delivery.objects.filter(campaign=test).update(
        status=status, content=content, provider_response=answer, error=error
    )


def test_the_results_show_each_exact_message_and_the_providers_answer(
    client, django_user_model, campaign, django_capture_on_commit_callbacks
):
    me = sender(django_user_model)
    anna = on_list(me, first_name="Anna", addresses={"leadconverter": "701"})
    client.force_login(me)
    with django_capture_on_commit_callbacks():
        client.post(send_url(campaign), {"seeds": [anna.pk]})
    test = Campaign.objects.get(parent=campaign)
    results = reverse("admin:notifications_campaign_test_results", args=[campaign.pk])

    waiting = client.get(results).json()
    assert waiting["finished"] is False
    assert "Waiting" in waiting["html"]

    finish(test, {"body": "Hello Anna"}, {"id": "lc-91", "status": "queued"})
    done = client.get(results).json()
    assert done["finished"] is True
    assert "Hello Anna" in done["html"]
    assert "&quot;id&quot;: &quot;lc-91&quot;" in done["html"]
    assert "All 1 test send" in done["html"]
    assert "their 1 message" in done["html"]
    assert f"sent by {me.username}" in done["html"]
    assert f"/campaign/{test.pk}/change/" in done["html"]


def test_a_failed_test_shows_the_error(
    client, django_user_model, campaign, django_capture_on_commit_callbacks
):
    me = sender(django_user_model)
    anna = on_list(me, addresses={"leadconverter": "701"})
    client.force_login(me)
    with django_capture_on_commit_callbacks():
        client.post(send_url(campaign), {"seeds": [anna.pk]})
    finish(
        Campaign.objects.get(parent=campaign),
        {"body": "Hello"},
        error="Invalid phone number",
        status=Delivery.Status.FAILED,
    )

    html = client.get(
        reverse("admin:notifications_campaign_test_results", args=[campaign.pk])
    ).json()["html"]

    assert "Failed" in html
    assert "Invalid phone number" in html


def test_the_links_under_the_results_open_as_many_rows_as_they_say(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    people = [make_recipient(addresses={"leadconverter": str(900 + i)}) for i in range(3)]
    for chosen in (people[:2], people[2:]):
        with django_capture_on_commit_callbacks():
            admin_client.post(send_url(campaign), {"others": [p.pk for p in chosen]})
    html = admin_client.get(
        reverse("admin:notifications_campaign_test_results", args=[campaign.pk])
    ).json()["html"]
    assert "All 2 test sends" in html
    assert "their 3 messages" in html
    tests_url = html.split('<a href="')[-2].split('"')[0].replace("&amp;", "&")
    messages_url = html.split('<a href="')[-1].split('"')[0].replace("&amp;", "&")

    assert len(admin_client.get(tests_url).context["cl"].result_list) == 2
    assert len(admin_client.get(messages_url).context["cl"].result_list) == 3


def test_the_campaign_list_hides_test_sends_unless_chosen(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    person = make_recipient(addresses={"leadconverter": "701"})
    with django_capture_on_commit_callbacks():
        admin_client.post(send_url(campaign), {"others": [person.pk]})
    url = reverse("admin:notifications_campaign_changelist")

    default = admin_client.get(url).context["cl"]
    tests = admin_client.get(url, {"kind__exact": "test"}).context["cl"]
    every = admin_client.get(url, {"kind__exact": "all"}).context["cl"]

    assert [c.pk for c in default.result_list] == [campaign.pk]
    assert [c.kind for c in tests.result_list] == [Campaign.Kind.TEST]
    assert len(every.result_list) == 2
    assert "0 of 1" in admin_client.get(url, {"kind__exact": "test"}).content.decode()


def test_the_campaign_page_shows_its_test_sends(
    client, django_user_model, campaign, django_capture_on_commit_callbacks
):
    me = sender(django_user_model)
    anna = on_list(me, addresses={"leadconverter": "701"})
    client.force_login(me)
    with django_capture_on_commit_callbacks():
        client.post(send_url(campaign), {"seeds": [anna.pk]})
    finish(Campaign.objects.get(parent=campaign), {"body": "Hello Anna"}, {"ok": True})

    page = client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))

    html = page.content.decode()
    assert 'id="test-sends"' in html
    assert 'data-finished="true"' in html
    assert "Hello Anna" in html


def test_a_campaign_that_cannot_be_tested_says_so_on_opening_with_no_button(
    client, django_user_model, campaign
):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    client.force_login(sender(django_user_model))
    page = client.get(send_url(campaign))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cannot send a test of &#x27;Spring&#x27;: it is cancelled." in html
    assert 'id="send-test-button"' not in html
