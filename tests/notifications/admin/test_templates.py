"""The message templates' admin: bad templates are field errors, and the preview."""

import pytest
from django.urls import reverse

from notifications.models import (
    MessageTemplate,
    RecipientAttribute,
)
from tests.factories import make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_an_invalid_template_is_refused_with_field_errors(staff):
    response = staff.post(
        reverse("admin:notifications_messagetemplate_add"),
        {
            "name": "Broken",
            "title": "Hi {{ first_name",
            "body": "{{ no_such_thing }}",
            "deeplink": "javascript:alert(1)",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Template error:" in html
    assert "No recipient has this variable: no_such_thing." in html
    assert "The link uses the &#x27;javascript&#x27; scheme" in html
    assert not MessageTemplate.objects.filter(name="Broken").exists()


def test_editing_a_template_cannot_break_a_draft_campaign_using_it(staff):
    template = make_template(title="Hi", body="Text")
    make_campaign(template=template, channel="imshop")
    response = staff.post(
        reverse("admin:notifications_messagetemplate_change", args=[template.pk]),
        {"name": template.name, "title": "", "body": "Text"},
    )
    assert "Imshop pushes need a title. (a draft campaign on this channel uses it)" in (
        response.content.decode()
    )
    template.refresh_from_db()
    assert template.title == "Hi"


def test_preview_renders_for_a_chosen_recipient_on_every_channel(staff):
    make_recipient(external_id="c-1", first_name="Ann", attributes={"city": "Kazan"})
    template = make_template(title="Hi {{ first_name }}", body="Sale in {{ city }}")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    html = staff.get(url, {"recipient": "c-1"}).content.decode()
    assert "Hi Ann" in html
    assert "Sale in Kazan" in html
    assert html.count('class="module preview"') == 4


def test_preview_shows_why_a_recipient_cannot_get_the_message(staff):
    make_recipient(external_id="c-2", first_name="Bob")
    template = make_template(title="Hi", body="Sale in {{ city }}")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    html = staff.get(url, {"recipient": "c-2"}).content.decode()
    assert "Message: &#x27;city&#x27; is undefined" in html


def test_preview_says_when_no_recipient_matches(staff):
    template = make_template()
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    assert (
        "No recipient has external_id “ghost”."
        in staff.get(url, {"recipient": "ghost"}).content.decode()
    )


def test_the_editor_lists_the_variables_of_the_registry_with_labels_and_types(staff):
    RecipientAttribute.objects.create(name="tier", label="Loyalty tier", type="text")
    RecipientAttribute.objects.create(name="age", type="number")
    html = staff.get(reverse("admin:notifications_messagetemplate_add")).content.decode()
    assert "<code>{{ first_name }}</code> First name (text)" in html
    assert "<code>{{ tier }}</code> Loyalty tier (text)" in html
    assert "<code>{{ age }}</code> age (number)" in html
