"""Who may change what through the API: staff sessions get the admin's permissions, keys their
scope.

Every write operation of the OpenAPI schema is tried by each kind of caller. A caller it is
allowed to succeeds and the write takes effect; any other is refused with 403 and a sentence,
and nothing in the database changes. Every read of the schema needs view or change permission,
as in the admin.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create
from notifications.campaigns.lifecycle import campaign_dispatch, campaign_pause
from notifications.models import (
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    IntegrationKey,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
    SeedRecipient,
)
from notifications.recipients.seeds import seed_recipients_add
from notifications.sending.counters import counters_rebuild
from outbound.models import Endpoint, Message
from outbound.services import endpoint_create
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.api.conftest import client_with, session_of, staff_with

pytestmark = pytest.mark.django_db

READ_ONLY_KEY_REFUSAL = "This API key is read-only: it may list and read, not change anything."


@dataclass(frozen=True)
class Attempt:
    """One write made ready against real rows, and how to see in its answer or in the database
    that it took effect."""

    path: str
    body: dict[str, Any]
    took_effect: Callable[[Response], bool]


@dataclass(frozen=True)
class Operation:
    """A write operation of the schema: the permissions a staff session needs for it (codenames
    in the notifications app), and how to attempt it."""

    needs: tuple[str, ...]
    prepare: Callable[[], Attempt]


# --- How to attempt each write ---------------------------------------------------------------


def _recipient_create() -> Attempt:
    return Attempt(
        "/api/recipients/",
        {"external_id": "new"},
        lambda _: Recipient.objects.filter(external_id="new").exists(),
    )


def _recipient_change() -> Attempt:
    recipient = make_recipient(first_name="Anna")
    return Attempt(
        f"/api/recipients/{recipient.pk}/",
        {"external_id": recipient.external_id, "first_name": "Olga"},
        lambda _: Recipient.objects.get(pk=recipient.pk).first_name == "Olga",
    )


def _recipient_delete() -> Attempt:
    recipient = make_recipient()
    return Attempt(
        f"/api/recipients/{recipient.pk}/",
        {},
        lambda _: not Recipient.objects.filter(pk=recipient.pk).exists(),
    )


def _recipients_bulk() -> Attempt:
    known = make_recipient(first_name="Anna")
    return Attempt(
        "/api/recipients/bulk/",
        {
            "recipients": [
                {"external_id": known.external_id, "first_name": "Olga"},
                {"external_id": "new"},
            ]
        },
        lambda _: (
            Recipient.objects.get(pk=known.pk).first_name == "Olga"
            and Recipient.objects.filter(external_id="new").exists()
        ),
    )


def _audience_create() -> Attempt:
    return Attempt(
        "/api/audiences/", {"name": "new"}, lambda _: Audience.objects.filter(name="new").exists()
    )


def _audience_change() -> Attempt:
    audience = make_audience(name="old")
    return Attempt(
        f"/api/audiences/{audience.pk}/",
        {"name": "renamed"},
        lambda _: Audience.objects.get(pk=audience.pk).name == "renamed",
    )


def _audience_delete() -> Attempt:
    audience = make_audience()
    return Attempt(
        f"/api/audiences/{audience.pk}/",
        {},
        lambda _: not Audience.objects.filter(pk=audience.pk).exists(),
    )


def _audience_members() -> Attempt:
    audience, recipient = make_audience(), make_recipient()
    return Attempt(
        f"/api/audiences/{audience.pk}/members/",
        {"add": [recipient.external_id]},
        lambda _: AudienceMember.objects.filter(audience=audience, recipient=recipient).exists(),
    )


def _audience_preview() -> Attempt:
    make_recipient(first_name="Anna")
    return Attempt(
        "/api/audiences/preview/",
        {
            "rules": {
                "match": "all",
                "rules": [{"field": "first_name", "op": "eq", "value": "Anna"}],
            }
        },
        lambda response: response.json()["count"] == 1,
    )


def _attribute_create() -> Attempt:
    return Attempt(
        "/api/attributes/",
        {"name": "city", "type": "text"},
        lambda _: RecipientAttribute.objects.filter(name="city").exists(),
    )


def _attribute_change() -> Attempt:
    RecipientAttribute.objects.create(name="city")
    return Attempt(
        "/api/attributes/city/",
        {"label": "City"},
        lambda _: RecipientAttribute.objects.get(name="city").label == "City",
    )


def _template_create() -> Attempt:
    return Attempt(
        "/api/templates/",
        {"name": "new", "title": "Hi", "body": "Hello"},
        lambda _: MessageTemplate.objects.filter(name="new").exists(),
    )


def _template_change() -> Attempt:
    template = make_template()
    return Attempt(
        f"/api/templates/{template.pk}/",
        {"name": "renamed", "title": "Hi", "body": "Hello"},
        lambda _: MessageTemplate.objects.get(pk=template.pk).name == "renamed",
    )


def _template_delete() -> Attempt:
    template = make_template()
    return Attempt(
        f"/api/templates/{template.pk}/",
        {},
        lambda _: not MessageTemplate.objects.filter(pk=template.pk).exists(),
    )


def _template_preview() -> Attempt:
    recipient = make_recipient(first_name="Anna")
    template = make_template(title="Hello", body="Hi {{ first_name }}")
    return Attempt(
        f"/api/templates/{template.pk}/preview/",
        {"recipient": recipient.external_id},
        lambda response: response.json()["imshop"]["content"]["body"] == "Hi Anna",
    )


def _campaign_create() -> Attempt:
    template, audience = make_template(), make_audience(make_recipient())
    return Attempt(
        "/api/campaigns/",
        {"name": "new", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
        lambda _: Campaign.objects.filter(name="new").exists(),
    )


def _campaign_change() -> Attempt:
    campaign = make_campaign(make_audience(make_recipient()))
    return Attempt(
        f"/api/campaigns/{campaign.pk}/",
        {"name": "renamed", "channel": "imshop", "template": campaign.template_id},
        lambda _: Campaign.objects.get(pk=campaign.pk).name == "renamed",
    )


def _campaign_delete() -> Attempt:
    campaign = make_campaign()
    return Attempt(
        f"/api/campaigns/{campaign.pk}/",
        {},
        lambda _: not Campaign.objects.filter(pk=campaign.pk).exists(),
    )


def _draft_campaign() -> Campaign:
    return make_campaign(make_audience(make_recipient()))


def _running_campaign() -> Campaign:
    return campaign_dispatch(campaign_id=_draft_campaign().pk)


def _paused_campaign() -> Campaign:
    return campaign_pause(campaign_id=_running_campaign().pk)


def _transition(action: str, start: Callable[[], Campaign], status: str) -> Callable[[], Attempt]:
    """Prepares a campaign as `start` leaves it, to be moved by `action` into `status`."""

    def prepare() -> Attempt:
        campaign = start()
        return Attempt(
            f"/api/campaigns/{campaign.pk}/{action}/",
            {},
            lambda _: Campaign.objects.get(pk=campaign.pk).status == status,
        )

    return prepare


def _campaign_retry_failed() -> Attempt:
    campaign = _running_campaign()
    failed = Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status="failed")
    counters_rebuild(campaign_id=campaign.pk)
    return Attempt(
        f"/api/campaigns/{campaign.pk}/retry-failed/",
        {},
        lambda _: Delivery.objects.get(pk=failed.pk).status == "pending",
    )


def _scheduled_campaign() -> Campaign:
    return campaign_dispatch(
        campaign_id=_draft_campaign().pk, scheduled_at=timezone.now() + timedelta(days=1)
    )


def _campaign_content() -> Attempt:
    campaign = _paused_campaign()
    return Attempt(
        f"/api/campaigns/{campaign.pk}/content/",
        {"title": "New", "body": "Text"},
        lambda _: Campaign.objects.get(pk=campaign.pk).content_version == 2,
    )


def _campaign_copy() -> Attempt:
    campaign = make_campaign(name="Sale")
    return Attempt(
        f"/api/campaigns/{campaign.pk}/copy/",
        {},
        lambda _: Campaign.objects.filter(name="Copy of Sale").exists(),
    )


def _campaign_reschedule() -> Attempt:
    campaign = _scheduled_campaign()
    return Attempt(
        f"/api/campaigns/{campaign.pk}/reschedule/",
        {"scheduled_at": "2031-01-01T00:00:00Z"},
        lambda _: Campaign.objects.get(pk=campaign.pk).scheduled_at.year == 2031,
    )


def _campaign_send_test() -> Attempt:
    recipient, campaign = make_recipient(), make_campaign()
    return Attempt(
        f"/api/campaigns/{campaign.pk}/send-test/",
        {"recipients": [recipient.external_id]},
        lambda _: Campaign.objects.filter(parent=campaign).exists(),
    )


def _test_recipient_add() -> Attempt:
    recipient = make_recipient()
    return Attempt(
        "/api/test-recipients/",
        {"external_id": recipient.external_id, "shared": True},
        lambda _: SeedRecipient.objects.filter(recipient=recipient, owner=None).exists(),
    )


def _test_recipient_remove() -> Attempt:
    recipient = make_recipient()
    seed_recipients_add(recipients=Recipient.objects.filter(pk=recipient.pk))
    entry = SeedRecipient.objects.get(recipient=recipient)
    return Attempt(
        f"/api/test-recipients/{entry.pk}/",
        {},
        lambda _: not SeedRecipient.objects.filter(pk=entry.pk).exists(),
    )


def _message_send() -> Attempt:
    recipient = make_recipient()
    return Attempt(
        "/api/messages/",
        {
            "channel": "imshop",
            "recipients": [recipient.external_id],
            "content": {"title": "T", "body": "B"},
        },
        lambda _: Delivery.objects.filter(
            recipient=recipient, campaign__kind=Campaign.Kind.TRANSACTIONAL
        ).exists(),
    )


def _endpoint() -> Endpoint:
    return endpoint_create(url="https://hooks.example.com/in", events=["delivery.sent"])


def _endpoint_create() -> Attempt:
    return Attempt(
        "/api/webhook-endpoints/",
        {"url": "https://crm.example.com/in", "events": ["sms.click"]},
        lambda _: Endpoint.objects.filter(url="https://crm.example.com/in").exists(),
    )


def _endpoint_change() -> Attempt:
    endpoint = _endpoint()
    return Attempt(
        f"/api/webhook-endpoints/{endpoint.pk}/",
        {"url": endpoint.url, "events": ["sms.lost"]},
        lambda _: Endpoint.objects.get(pk=endpoint.pk).events == ["sms.lost"],
    )


def _endpoint_delete() -> Attempt:
    endpoint = _endpoint()
    return Attempt(
        f"/api/webhook-endpoints/{endpoint.pk}/",
        {},
        lambda _: not Endpoint.objects.filter(pk=endpoint.pk).exists(),
    )


def _endpoint_roll_secret() -> Attempt:
    endpoint = _endpoint()
    return Attempt(
        f"/api/webhook-endpoints/{endpoint.pk}/roll-secret/",
        {},
        lambda _: Endpoint.objects.get(pk=endpoint.pk).secret != endpoint.secret,
    )


def _message_resend() -> Attempt:
    message = Message.objects.create(
        endpoint=_endpoint(),
        stream=0,
        first_event_id=1,
        last_event_id=1,
        event_count=1,
        body='{"events": []}',
        status=Message.Status.FAILED,
    )
    return Attempt(
        f"/api/webhook-messages/{message.pk}/resend/",
        {},
        lambda _: Message.objects.get(pk=message.pk).status == Message.Status.PENDING,
    )


# What the admin asks of a staff member for the same work: the model's add, change or delete
# permission; add and change both for the bulk upsert (the admin's CSV import asks both);
# change of the audience for its members (a field of the audience); view of the template or of
# audiences for a preview (the admin's preview page, the rule builder's count); dispatch_campaign
# for every campaign transition, a new content version, a reschedule, a test send and a message
# (the admin's sending buttons and its test send); add campaign for a copy; the test recipients'
# add and delete for the shared test list (a person's own list is tested in
# test_campaign_desk_api.py: it needs only view recipient).
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/recipients/"): Operation(("add_recipient",), _recipient_create),
    ("PUT", "/api/recipients/{id}/"): Operation(("change_recipient",), _recipient_change),
    ("PATCH", "/api/recipients/{id}/"): Operation(("change_recipient",), _recipient_change),
    ("DELETE", "/api/recipients/{id}/"): Operation(("delete_recipient",), _recipient_delete),
    ("POST", "/api/recipients/bulk/"): Operation(
        ("add_recipient", "change_recipient"), _recipients_bulk
    ),
    ("POST", "/api/audiences/"): Operation(("add_audience",), _audience_create),
    ("PUT", "/api/audiences/{id}/"): Operation(("change_audience",), _audience_change),
    ("PATCH", "/api/audiences/{id}/"): Operation(("change_audience",), _audience_change),
    ("DELETE", "/api/audiences/{id}/"): Operation(("delete_audience",), _audience_delete),
    ("POST", "/api/audiences/{id}/members/"): Operation(("change_audience",), _audience_members),
    ("POST", "/api/audiences/preview/"): Operation(("view_audience",), _audience_preview),
    ("POST", "/api/attributes/"): Operation(("add_recipientattribute",), _attribute_create),
    ("PUT", "/api/attributes/{name}/"): Operation(
        ("change_recipientattribute",), _attribute_change
    ),
    ("PATCH", "/api/attributes/{name}/"): Operation(
        ("change_recipientattribute",), _attribute_change
    ),
    ("POST", "/api/templates/"): Operation(("add_messagetemplate",), _template_create),
    ("PUT", "/api/templates/{id}/"): Operation(("change_messagetemplate",), _template_change),
    ("PATCH", "/api/templates/{id}/"): Operation(("change_messagetemplate",), _template_change),
    ("DELETE", "/api/templates/{id}/"): Operation(("delete_messagetemplate",), _template_delete),
    ("POST", "/api/templates/{id}/preview/"): Operation(
        ("view_messagetemplate",), _template_preview
    ),
    ("POST", "/api/campaigns/"): Operation(("add_campaign",), _campaign_create),
    ("PUT", "/api/campaigns/{id}/"): Operation(("change_campaign",), _campaign_change),
    ("PATCH", "/api/campaigns/{id}/"): Operation(("change_campaign",), _campaign_change),
    ("DELETE", "/api/campaigns/{id}/"): Operation(("delete_campaign",), _campaign_delete),
    ("POST", "/api/campaigns/{id}/dispatch/"): Operation(
        ("dispatch_campaign",), _transition("dispatch", _draft_campaign, "running")
    ),
    ("POST", "/api/campaigns/{id}/pause/"): Operation(
        ("dispatch_campaign",), _transition("pause", _running_campaign, "paused")
    ),
    ("POST", "/api/campaigns/{id}/resume/"): Operation(
        ("dispatch_campaign",), _transition("resume", _paused_campaign, "running")
    ),
    ("POST", "/api/campaigns/{id}/cancel/"): Operation(
        ("dispatch_campaign",), _transition("cancel", _running_campaign, "cancelled")
    ),
    ("POST", "/api/campaigns/{id}/retry-failed/"): Operation(
        ("dispatch_campaign",), _campaign_retry_failed
    ),
    ("POST", "/api/campaigns/{id}/content/"): Operation(("dispatch_campaign",), _campaign_content),
    ("POST", "/api/campaigns/{id}/copy/"): Operation(("add_campaign",), _campaign_copy),
    ("POST", "/api/campaigns/{id}/reschedule/"): Operation(
        ("dispatch_campaign",), _campaign_reschedule
    ),
    ("POST", "/api/campaigns/{id}/unschedule/"): Operation(
        ("dispatch_campaign",), _transition("unschedule", _scheduled_campaign, "draft")
    ),
    ("POST", "/api/campaigns/{id}/send-test/"): Operation(
        ("dispatch_campaign",), _campaign_send_test
    ),
    ("POST", "/api/messages/"): Operation(("dispatch_campaign",), _message_send),
    ("POST", "/api/test-recipients/"): Operation(("add_seedrecipient",), _test_recipient_add),
    ("DELETE", "/api/test-recipients/{id}/"): Operation(
        ("delete_seedrecipient",), _test_recipient_remove
    ),
    # Outbound webhooks: the admin's endpoint permissions; sending a message again (the admin's
    # *Resend*) asks to change its endpoint.
    ("POST", "/api/webhook-endpoints/"): Operation(("outbound.add_endpoint",), _endpoint_create),
    ("PUT", "/api/webhook-endpoints/{id}/"): Operation(
        ("outbound.change_endpoint",), _endpoint_change
    ),
    ("PATCH", "/api/webhook-endpoints/{id}/"): Operation(
        ("outbound.change_endpoint",), _endpoint_change
    ),
    ("DELETE", "/api/webhook-endpoints/{id}/"): Operation(
        ("outbound.delete_endpoint",), _endpoint_delete
    ),
    ("POST", "/api/webhook-endpoints/{id}/roll-secret/"): Operation(
        ("outbound.change_endpoint",), _endpoint_roll_secret
    ),
    ("POST", "/api/webhook-messages/{id}/resend/"): Operation(
        ("outbound.change_endpoint",), _message_resend
    ),
}


# --- Who calls -------------------------------------------------------------------------------


# The apps whose models the API writes.
API_APPS = ("notifications", "outbound")


def _label(codename: str) -> str:
    """`app_label.codename`; a bare codename is the notifications app's."""
    return codename if "." in codename else f"notifications.{codename}"


def _codenames(*verbs: str) -> list[str]:
    """Every permission of the API's apps that starts with one of these verbs."""
    return [
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(content_type__app_label__in=API_APPS)
        .filter(codename__regex=rf"^({'|'.join(verbs)})_")
        .values_list("content_type__app_label", "codename")
    ]


def _lacks(*codenames: str) -> str:
    """The refusal a staff session gets when it lacks these permissions."""
    phrases = []
    for codename in map(_label, codenames):
        phrase = f"the permission {codename}"
        if ".view_" in codename:
            phrase += f" (or {codename.replace('.view_', '.change_', 1)})"
        phrases.append(phrase)
    return f"Your account may not do this: it lacks {' and '.join(phrases)}."


def _superuser() -> APIClient:
    return session_of(get_user_model().objects.create_superuser("root", email=""))


@dataclass(frozen=True)
class Caller:
    """A kind of API caller: how to make one, whether it may do what needs these permissions,
    and if not, the refusal it gets."""

    make: Callable[[], APIClient]
    may: Callable[[tuple[str, ...]], bool]
    refusal: Callable[[tuple[str, ...]], str]


CALLERS: dict[str, Caller] = {
    "view-only staff": Caller(
        lambda: session_of(staff_with(*_codenames("view"))),
        lambda needs: all(_label(name).split(".")[1].startswith("view_") for name in needs),
        lambda needs: _lacks(*needs),
    ),
    "staff who may edit but not dispatch": Caller(
        lambda: session_of(staff_with(*_codenames("view", "add", "change", "delete"))),
        lambda needs: "dispatch_campaign" not in needs,
        lambda needs: _lacks("dispatch_campaign"),
    ),
    "superuser": Caller(_superuser, lambda needs: True, lambda needs: ""),
    "read-only key": Caller(
        lambda: client_with(integration_key_create(name="reports", read_only=True)[1]),
        # Only what a view declares a read: a preview saves nothing.
        lambda needs: all(_label(name).split(".")[1].startswith("view_") for name in needs),
        lambda needs: READ_ONLY_KEY_REFUSAL,
    ),
    "read-write key": Caller(
        lambda: client_with(integration_key_create(name="shop")[1]),
        lambda needs: True,
        lambda needs: "",
    ),
}


# --- Checks ----------------------------------------------------------------------------------


def _database() -> dict[str, list[dict]]:
    """Every row the API can write. Keys are left out: each request records its key's use."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for app in API_APPS
        for model in apps.get_app_config(app).get_models()
        if model is not IntegrationKey
    }


def _call(client: APIClient, method: str, attempt: Attempt) -> Response:
    return getattr(client, method.lower())(attempt.path, attempt.body, format="json")


def _assert_refused(response: Response, refusal: str, before: dict) -> None:
    assert response.status_code == 403, response.content
    assert response.json() == {"detail": refusal}
    assert _database() == before


def _assert_done(response: Response, attempt: Attempt) -> None:
    assert 200 <= response.status_code < 300, response.content
    assert attempt.took_effect(response)


def _schema_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation in the API's OpenAPI schema, as served."""
    schema = _superuser().get("/api/schema/?format=json").json()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_the_operations_tried_are_every_write_operation_of_the_schema():
    writes = {(method, path) for method, path in _schema_operations() if method != "GET"}
    assert set(OPERATIONS) == writes


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=" ".join)
def test_a_write_is_done_for_a_caller_allowed_it_and_refused_unchanged_for_others(
    operation, caller
):
    method, _ = operation
    needs, who = OPERATIONS[operation].needs, CALLERS[caller]
    attempt = OPERATIONS[operation].prepare()
    client, before = who.make(), _database()
    response = _call(client, method, attempt)
    if who.may(needs):
        _assert_done(response, attempt)
    else:
        _assert_refused(response, who.refusal(needs), before)


@pytest.mark.parametrize("operation", OPERATIONS, ids=" ".join)
def test_a_staff_session_needs_every_permission_the_admin_asks_for_and_no_other(operation):
    method, _ = operation
    needs = OPERATIONS[operation].needs
    attempt = OPERATIONS[operation].prepare()
    before = _database()
    for lacking in needs:
        client = session_of(staff_with(*(set(needs) - {lacking})))
        _assert_refused(_call(client, method, attempt), _lacks(lacking), before)
    _assert_done(_call(session_of(staff_with(*needs)), method, attempt), attempt)


# --- Reads -----------------------------------------------------------------------------------

# The model behind each route of the API, by the first part of its path.
ROUTE_MODELS = {
    "recipients": "recipient",
    "audiences": "audience",
    "templates": "messagetemplate",
    "campaigns": "campaign",
    "deliveries": "delivery",
    "events": "deliveryevent",
    "attributes": "recipientattribute",
    # Everyone's own test list is open to whoever may view recipients.
    "test-recipients": "recipient",
    "webhook-endpoints": "outbound.endpoint",
    "webhook-messages": "outbound.message",
}


def test_a_staff_session_reads_with_the_view_or_the_change_permission_as_in_the_admin():
    reads = sorted(path for method, path in _schema_operations() if method == "GET")
    assert len(reads) > 10
    for path in reads:
        app, _, model = _label(ROUTE_MODELS[path.split("/")[2]]).partition(".")
        url = path.replace("{id}", "0").replace("{name}", "nothing")
        refused = session_of(staff_with()).get(url)
        assert refused.status_code == 403, path
        assert refused.json() == {"detail": _lacks(f"{app}.view_{model}")}
        for codename in (f"{app}.view_{model}", f"{app}.change_{model}"):
            # A list answers 200; an object that does not exist, 404; a read missing its
            # required query (the comparison's ids), 400: all past the permission.
            answer = session_of(staff_with(codename)).get(url).status_code
            assert answer in (200, 400, 404), path


def test_the_browsable_api_offers_a_form_only_to_whom_the_admin_lets_add():
    viewer = session_of(staff_with("view_recipient")).options("/api/recipients/")
    editor = session_of(staff_with("view_recipient", "add_recipient")).options("/api/recipients/")
    assert viewer.status_code == editor.status_code == 200
    assert "actions" not in viewer.json()
    assert "POST" in editor.json()["actions"]


def test_a_method_the_api_does_not_have_is_405_for_a_staff_session():
    response = session_of(staff_with("view_recipient")).generic("TRACE", "/api/recipients/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "TRACE" not allowed.'}
