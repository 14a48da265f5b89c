"""The inbox in the admin is history: staff read it, nobody deletes from it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from tests.webhooks.conftest import sendios_body, sms_event
from webhooks.models import InboundEvent, InboundWebhook
from webhooks.services import sms_webhook_receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbound() -> InboundWebhook:
    receipt = sms_webhook_receive(body=sendios_body(sms_event(sms_id=1)), headers={})
    return InboundWebhook.objects.get(pk=receipt.inbound_id)


@pytest.mark.parametrize("model", [InboundWebhook, InboundEvent])
def test_the_inbox_cannot_be_deleted_from_its_pages(admin_client, inbound, model):
    row = model.objects.first()
    url = reverse(f"admin:webhooks_{model._meta.model_name}_delete", args=[row.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", [InboundWebhook, InboundEvent])
def test_the_inbox_cannot_be_deleted_from_its_lists(admin_client, inbound, model):
    changelist = reverse(f"admin:webhooks_{model._meta.model_name}_changelist")
    admin_client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": list(model.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert model.objects.exists()


@pytest.mark.parametrize("model", [InboundWebhook, InboundEvent])
def test_the_inbox_offers_no_delete_action(admin_user, model):
    request = RequestFactory().get("/")
    request.user = admin_user
    assert "delete_selected" not in admin.site._registry[model].get_actions(request)
