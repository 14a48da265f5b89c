"""The admin keeps the services' rules: deletions and saves go through them, history stays.

Every case goes through the real admin as a logged-in superuser, the way staff use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import RequestFactory
from django.urls import reverse

from notifications.models import (
    Address,
    Audience,
    Campaign,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from notifications.sending.claims import deliveries_claim, deliveries_start
from notifications.sending.counters import counters_read, counters_rebuild
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


class _FormReader(HTMLParser):
    """What a browser would submit for the page's main form, field by field."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button") or (
                kind in ("checkbox", "radio") and "checked" not in attributes
            ):
                return
            # A ticked box with no value of its own is sent as "on", as browsers do.
            default = "on" if kind == "checkbox" else ""
            self.data.setdefault(name, []).append(attributes.get("value", default) or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attributes:
            self.data[self._select].append(attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data.removeprefix("\n")


def browser_form(page) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(page.content.decode())
    return reader.data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def counters_match_rows(campaign: Campaign) -> bool:
    rows = Counter(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True))
    return counters_read(campaign_id=campaign.pk) == dict(rows)


def delete_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])


def delete_selected(client, model, *objects):
    changelist = reverse(f"admin:notifications_{model._meta.model_name}_changelist")
    return client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [o.pk for o in objects], "post": "yes"},
        follow=True,
    )


def sent_campaign(*recipients: Recipient, **fields) -> Campaign:
    """A running campaign with one delivery per recipient (sent, then pending) and counters."""
    campaign = make_campaign(make_audience(*recipients), status=Campaign.Status.RUNNING, **fields)
    for index, recipient in enumerate(recipients):
        status = Delivery.Status.SENT if index % 2 == 0 else Delivery.Status.PENDING
        Delivery.objects.create(campaign=campaign, recipient=recipient, status=status)
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


# --- Deleting campaigns -------------------------------------------------------------------


def test_a_running_campaign_cannot_be_deleted_from_its_page(admin_client):
    campaign = sent_campaign(make_recipient(), name="Spring")
    response = admin_client.post(delete_url(campaign), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "Cannot delete 'Spring': it is running." in messages_of(response)
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert Delivery.objects.filter(campaign=campaign).count() == 1


def test_delete_selected_deletes_the_drafts_and_refuses_the_others_with_a_sentence(admin_client):
    draft = make_campaign(name="Draft")
    running = make_campaign(name="Live", status=Campaign.Status.RUNNING)
    response = delete_selected(admin_client, Campaign, draft, running)
    assert response.status_code == 200
    assert set(Campaign.objects.values_list("name", flat=True)) == {"Live"}
    assert "Cannot delete 'Live': it is running." in messages_of(response)


def test_a_draft_whose_test_sends_went_out_cannot_be_deleted(admin_client):
    recipient = make_recipient()
    draft = make_campaign(name="Draft")
    test_send = make_campaign(
        name="Test of Draft",
        kind=Campaign.Kind.TEST,
        parent=draft,
        status=Campaign.Status.COMPLETED,
    )
    Delivery.objects.create(campaign=test_send, recipient=recipient, status=Delivery.Status.SENT)
    admin_client.post(delete_url(draft), {"post": "yes"})
    assert Campaign.objects.filter(pk__in=[draft.pk, test_send.pk]).count() == 2
    assert Delivery.objects.filter(campaign=test_send).exists()


# --- History is read-only -----------------------------------------------------------------


def test_a_delivery_cannot_be_deleted_and_the_counters_stay_right(admin_client):
    campaign = sent_campaign(make_recipient(), make_recipient())
    delivery = Delivery.objects.filter(campaign=campaign).first()
    assert admin_client.post(delete_url(delivery), {"post": "yes"}).status_code == 403
    delete_selected(admin_client, Delivery, delivery)
    assert Delivery.objects.filter(campaign=campaign).count() == 2
    assert counters_match_rows(campaign)


def test_a_delivery_event_cannot_be_deleted(admin_client):
    event = DeliveryEvent.objects.create(type="sent", detail="ok")
    assert admin_client.post(delete_url(event), {"post": "yes"}).status_code == 403
    delete_selected(admin_client, DeliveryEvent, event)
    assert DeliveryEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("model", [Delivery, DeliveryEvent])
def test_history_offers_no_delete_action(admin_user, model):
    request = RequestFactory().get("/")
    request.user = admin_user
    assert "delete_selected" not in admin.site._registry[model].get_actions(request)


# --- Deleting what deliveries reference ---------------------------------------------------


def test_deleting_a_recipient_takes_their_deliveries_off_the_counters(admin_client):
    leaving, staying = make_recipient(), make_recipient()
    campaign = sent_campaign(leaving, staying)
    page = admin_client.get(delete_url(leaving))
    assert page.status_code == 200
    assert "permission" not in page.content.decode()
    admin_client.post(delete_url(leaving), {"post": "yes"})
    assert not Recipient.objects.filter(pk=leaving.pk).exists()
    assert Delivery.objects.filter(campaign=campaign).count() == 1
    assert counters_match_rows(campaign)


def test_deleting_selected_recipients_keeps_every_campaigns_counters_right(admin_client):
    first, second, third = make_recipient(), make_recipient(), make_recipient()
    spring = sent_campaign(first, second, third)
    autumn = sent_campaign(second, third)
    response = delete_selected(admin_client, Recipient, first, second)
    assert "Successfully deleted 2 recipients." in messages_of(response)
    assert Recipient.objects.get() == third
    assert counters_match_rows(spring)
    assert counters_match_rows(autumn)


def test_an_audience_a_campaign_went_out_to_cannot_be_deleted(admin_client):
    audience = make_audience(make_recipient(), name="Everyone")
    make_campaign(audience, name="Spring", status=Campaign.Status.RUNNING)
    response = admin_client.post(delete_url(audience), {"post": "yes"}, follow=True)
    assert "Cannot delete audience 'Everyone': campaign 'Spring' went out to it." in (
        messages_of(response)
    )
    assert Campaign.objects.get().audiences.get() == audience


def test_an_audience_only_drafts_use_can_be_deleted(admin_client):
    audience = make_audience(make_recipient())
    draft = make_campaign(audience)
    response = delete_selected(admin_client, Audience, audience)
    assert "Successfully deleted 1 audience." in messages_of(response)
    assert not draft.audiences.exists()


def test_a_template_a_campaign_uses_is_refused_by_delete_selected(admin_client):
    template = make_template(name="Greeting")
    make_campaign(template=template, name="Spring")
    response = delete_selected(admin_client, MessageTemplate, template)
    assert response.status_code == 200
    assert (
        "Cannot delete the selected message templates: these depend on them and are "
        "protected: Campaign: Spring."
    ) in messages_of(response)
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


# --- Saving -------------------------------------------------------------------------------


def test_saving_a_campaign_dispatched_since_its_form_opened_is_refused_with_a_sentence(
    admin_client,
):
    campaign = make_campaign(make_audience(), name="Spring")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    form = browser_form(admin_client.get(url))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    response = admin_client.post(url, {**form, "name": "Summer"}, follow=True)
    assert "Cannot change 'Spring': it is running." in messages_of(response)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Spring", Campaign.Status.RUNNING)


def test_a_running_campaign_page_offers_neither_save_nor_delete(admin_client):
    campaign = make_campaign(make_audience(), status=Campaign.Status.RUNNING)
    page = admin_client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert 'name="_save"' not in html
    assert delete_url(campaign) not in html


def test_saving_a_draft_keeps_what_others_changed_since_its_form_opened(admin_client):
    first, second = make_audience(name="First"), make_audience(name="Second")
    campaign = make_campaign(first, name="Spring")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    form = browser_form(admin_client.get(url))
    campaign.audiences.set([second])  # through the API, say
    response = admin_client.post(url, {**form, "name": "Summer"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Summer"
    assert list(campaign.audiences.all()) == [second]


def test_saving_a_recipient_keeps_what_an_import_changed_since_its_form_opened(admin_client):
    recipient = make_recipient(external_id="c-1", first_name="Ann", phone="+79000000001")
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    form = browser_form(admin_client.get(url))
    Recipient.objects.filter(pk=recipient.pk).update(phone="+79000000002")
    response = admin_client.post(url, {**form, "first_name": "Anna"})
    assert response.status_code == 302
    recipient.refresh_from_db()
    assert (recipient.first_name, recipient.phone) == ("Anna", "+79000000002")


def test_saving_a_template_keeps_what_another_editor_saved_since_its_form_opened(admin_client):
    template = make_template(title="Hello", body="Old text")
    url = reverse("admin:notifications_messagetemplate_change", args=[template.pk])
    form = browser_form(admin_client.get(url))
    other_form = browser_form(admin_client.get(url))
    admin_client.post(url, {**other_form, "body": "New text"})
    admin_client.post(url, {**form, "title": "Hi"})
    template.refresh_from_db()
    assert (template.title, template.body) == ("Hi", "New text")


def test_saving_an_audience_keeps_a_description_changed_since_its_form_opened(admin_client):
    audience = Audience.objects.create(name="Everyone", description="All buyers")
    url = reverse("admin:notifications_audience_change", args=[audience.pk])
    form = browser_form(admin_client.get(url))
    Audience.objects.filter(pk=audience.pk).update(description="Buyers since 2024")  # the API
    response = admin_client.post(url, {**form, "name": "Buyers"})
    assert response.status_code == 302
    audience.refresh_from_db()
    assert (audience.name, audience.description) == ("Buyers", "Buyers since 2024")


def test_saving_a_recipient_keeps_an_address_an_import_changed_since_its_form_opened(
    admin_client,
):
    recipient = make_recipient(first_name="Ann", addresses={"bitrix24": "7"})
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    form = browser_form(admin_client.get(url))
    Address.objects.filter(recipient=recipient).update(value="8")
    response = admin_client.post(url, {**form, "first_name": "Anna"})
    assert response.status_code == 302
    assert list(recipient.addresses.values_list("value", flat=True)) == ["8"]
    recipient.refresh_from_db()
    assert recipient.first_name == "Anna"


def test_saving_an_address_keeps_a_value_an_import_changed_since_its_form_opened(admin_client):
    address = make_recipient(addresses={"bitrix24": "7"}).addresses.get()
    url = reverse("admin:notifications_address_change", args=[address.pk])
    form = browser_form(admin_client.get(url))
    Address.objects.filter(pk=address.pk).update(value="8")
    assert admin_client.post(url, form).status_code == 302
    address.refresh_from_db()
    assert address.value == "8"


def test_addresses_added_and_deleted_on_a_recipient_page_are_saved(admin_client):
    recipient = make_recipient(addresses={"bitrix24": "7"})
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    form = browser_form(admin_client.get(url))
    response = admin_client.post(
        url,
        {
            **form,
            "addresses-0-DELETE": "on",
            "addresses-TOTAL_FORMS": "2",
            "addresses-1-channel": "leadconverter",
            "addresses-1-value": "12",
        },
    )
    assert response.status_code == 302
    assert dict(recipient.addresses.values_list("channel", "value")) == {"leadconverter": "12"}


def staff_with(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_delete_selected_needs_every_permission_the_delete_page_needs(client, django_user_model):
    client.force_login(
        staff_with(django_user_model, "view_recipient", "delete_recipient", "view_address")
    )
    recipient = make_recipient(addresses={"bitrix24": "7"})
    assert client.post(delete_url(recipient), {"post": "yes"}).status_code == 403
    assert delete_selected(client, Recipient, recipient).status_code == 403
    assert Recipient.objects.filter(pk=recipient.pk).exists()
    assert Address.objects.filter(recipient=recipient).exists()


def _csv() -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", b"external_id\nc-1\n", content_type="text/csv")


IMPORT_PERMISSIONS = ("view_audience", "add_recipient", "change_recipient")


def test_an_import_into_a_new_audience_needs_permission_to_add_audiences(client, django_user_model):
    client.force_login(staff_with(django_user_model, *IMPORT_PERMISSIONS))
    url = reverse("admin:notifications_audience_import")
    check = client.post(url, {"file": _csv(), "new_audience": "Spring"})
    assert check.status_code == 200
    assert "You may not create audiences: choose an existing one." in check.content.decode()
    assert check.context["pending"] is None
    assert not Audience.objects.exists()
    assert not Recipient.objects.exists()


def test_an_import_checked_before_the_permission_to_add_audiences_was_taken_is_refused(
    client, django_user_model
):
    user = staff_with(django_user_model, *IMPORT_PERMISSIONS, "add_audience")
    client.force_login(user)
    url = reverse("admin:notifications_audience_import")
    token = client.post(url, {"file": _csv(), "new_audience": "Spring"}).context["pending"]
    user.user_permissions.remove(Permission.objects.get(codename="add_audience"))
    done = client.post(url, {"confirm": token["token"]}, follow=True)
    assert "You may not create audiences: choose an existing one." in messages_of(done)
    assert not Audience.objects.exists()
    assert not Recipient.objects.exists()


def test_an_import_may_fill_an_existing_audience_without_permission_to_add_audiences(
    client, django_user_model
):
    client.force_login(staff_with(django_user_model, *IMPORT_PERMISSIONS))
    audience = make_audience(name="Everyone")
    url = reverse("admin:notifications_audience_import")
    token = client.post(url, {"file": _csv(), "audience": audience.pk}).context["pending"]
    client.post(url, {"confirm": token["token"]})
    assert list(audience.members.values_list("external_id", flat=True)) == ["c-1"]


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def hold_open(script: str, *args: str) -> subprocess.Popen:
    """Run `script` in another process on the test database; it prints a line once it holds
    its transaction open, and this returns after that line. The script goes on when a line
    arrives on its stdin (see `post_while_held`)."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": _database_url(),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def _waiting_locks() -> int:
    with connection.cursor() as cursor:
        # A row lock is waited for as the holder's transaction id, a lock with no database:
        # the sessions of this database say who waits.
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def post_while_held(client, url: str, data: dict, worker: subprocess.Popen):
    """POST from another thread, let `worker` commit only once the POST waits on one of its
    locks, and return the POST's answer.

    So the race is exercised however slow the machine: the request is inside its transaction,
    blocked by the worker's, when the worker's commit comes.
    """
    answer: dict = {}

    def post() -> None:
        try:
            answer["response"] = client.post(url, data, follow=True)
        except BaseException as exc:  # raised again in the test's thread
            answer["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=post)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not _waiting_locks():
            assert thread.is_alive(), "the POST finished without waiting on the worker's lock"
            assert time.monotonic() < deadline, "the POST never waited on the worker's lock"
            time.sleep(0.05)
    finally:
        worker.stdin.write("commit\n")
        worker.stdin.flush()
        assert worker.wait(timeout=30) == 0
        thread.join(timeout=30)
    if "error" in answer:
        raise answer["error"]
    return answer["response"]


CANCEL_AND_HOLD = """
import sys, django
django.setup()
from django.db import transaction
from notifications.campaigns.lifecycle import campaign_cancel
with transaction.atomic():
    campaign_cancel(campaign_id=int(sys.argv[1]))
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.django_db(transaction=True)
def test_a_draft_cancelled_while_its_save_waits_keeps_its_name_and_the_cancellation(
    admin_client, postgres_only
):
    campaign = make_campaign(make_audience(), name="Spring")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    form = browser_form(admin_client.get(url))
    # The save reads the campaign as a draft, then waits on the lock of the other process's
    # cancellation; after that commits, the save must see it and change nothing.
    worker = hold_open(CANCEL_AND_HOLD, str(campaign.pk))
    response = post_while_held(admin_client, url, {**form, "name": "Summer"}, worker)
    assert "Cannot change 'Spring': it is cancelled." in messages_of(response)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Spring", Campaign.Status.CANCELLED)


RECORD_AND_HOLD = """
import json, sys, uuid, django
django.setup()
from django.db import transaction
from notifications.sending.outcomes import deliveries_record
from notifications.providers.values import ResultStatus, SendResult
claim = json.loads(sys.argv[1])
recipients = {int(pk): recipient for pk, recipient in claim["recipients"].items()}
with transaction.atomic():
    deliveries_record(
        campaign_id=claim["campaign"],
        token=uuid.UUID(claim["token"]),
        results=[SendResult(pk, ResultStatus.SENT) for pk in recipients],
        contents={},
        recipients=recipients,
        attempts=dict.fromkeys(recipients, 1),
    )
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.django_db(transaction=True)
def test_deleting_a_recipient_while_a_worker_records_their_delivery_keeps_counters_right(
    admin_client, postgres_only
):
    leaving, staying = make_recipient(), make_recipient()
    campaign = make_campaign(make_audience(leaving, staying), status=Campaign.Status.RUNNING)
    for recipient in (leaving, staying):
        Delivery.objects.create(campaign=campaign, recipient=recipient)
    counters_rebuild(campaign_id=campaign.pk)
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=10, lease_seconds=60)
    deliveries_start(campaign_id=campaign.pk, token=token, ids=[c.id for c in claimed])
    claim = {
        "campaign": campaign.pk,
        "token": str(token),
        "recipients": {c.id: c.recipient_id for c in claimed},
    }
    # The worker has marked both deliveries sent but not committed: the deletion must count
    # the leaving recipient's delivery as sent, not as the sending it still reads as.
    worker = hold_open(RECORD_AND_HOLD, json.dumps(claim))
    post_while_held(admin_client, delete_url(leaving), {"post": "yes"}, worker)
    assert list(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == [
        "sent"
    ]
    assert counters_match_rows(campaign)


MATERIALISE_WHILE_HOLDING = """
import sys, django
django.setup()
from django.db import transaction
from notifications.sending.counters import counters_add
from notifications.models import Delivery
held, campaign_id = int(sys.argv[1]), int(sys.argv[2])
with transaction.atomic():
    recipient_id = Delivery.objects.select_for_update().get(pk=held).recipient_id
    print("holding", flush=True)
    sys.stdin.readline()
    Delivery.objects.create(campaign_id=campaign_id, recipient_id=recipient_id)
    counters_add(campaign_id=campaign_id, deltas={"pending": 1})
"""


@pytest.mark.django_db(transaction=True)
def test_a_delivery_materialised_while_its_recipient_is_deleted_leaves_the_counters_right(
    admin_client, postgres_only
):
    leaving = make_recipient()
    spring = sent_campaign(leaving)
    autumn = make_campaign(make_audience(leaving), status=Campaign.Status.RUNNING)
    # The other process stands for a worker holding the recipient's Spring delivery and a
    # materialisation of Autumn: the deletion waits on the first, and the second commits a
    # new delivery of the recipient in the meantime, before the deletion goes on.
    worker = hold_open(
        MATERIALISE_WHILE_HOLDING, str(Delivery.objects.get(campaign=spring).pk), str(autumn.pk)
    )
    post_while_held(admin_client, delete_url(leaving), {"post": "yes"}, worker)
    assert not Recipient.objects.filter(pk=leaving.pk).exists()
    assert not Delivery.objects.exists()
    assert counters_match_rows(spring)
    assert counters_match_rows(autumn)
