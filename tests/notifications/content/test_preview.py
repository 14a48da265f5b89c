"""One preview: what a channel would send a recipient, or why not, the same on every page."""

import pytest
from django.urls import reverse
from django.utils import translation

from notifications.content.preview import message_preview
from tests.factories import make_recipient, make_template

pytestmark = pytest.mark.django_db


def test_a_preview_shows_the_fields_the_channel_sends_in_its_order():
    ann = make_recipient(first_name="Ann")
    fields = {"title": "Hi {{ first_name }}", "body": "Sale", "deeplink": "", "file_uuid": "x"}

    preview = message_preview(fields=fields, channel="imshop", recipient=ann)

    assert preview.fields == (("title", "Hi Ann"), ("body", "Sale"), ("deeplink", ""))
    assert preview.errors == {}


def test_a_page_reads_the_fields_by_the_names_staff_know_them_by():
    ann = make_recipient(first_name="Ann")
    fields = {"body": "Hi {{ first_name }}", "file_uuid": "x"}

    preview = message_preview(fields=fields, channel="leadconverter", recipient=ann)

    assert preview.labelled_fields == (
        ("body", "Message", "Hi Ann"),
        ("file_uuid", "LeadConverter file UUID", "x"),
    )
    with translation.override("ru"):
        assert [label for _, label, _ in preview.labelled_fields] == [
            "Сообщение",
            "UUID файла в LeadConverter",
        ]


def test_content_the_channel_refuses_is_reported_by_field():
    preview = message_preview(
        fields={"title": "", "body": "Sale"}, channel="imshop", recipient=make_recipient()
    )

    assert preview.errors == {"title": ["Imshop pushes need a title."]}
    assert preview.problems == ["Title: Imshop pushes need a title."]


def test_a_template_that_does_not_render_has_no_fields_and_says_why():
    preview = message_preview(
        fields={"body": "Hi {{ city }}"}, channel="yandex_market", recipient=make_recipient()
    )

    assert preview.fields == ()
    assert list(preview.errors) == ["body"]
    assert "city" in preview.errors["body"][0]


def test_the_api_and_the_template_editor_report_the_same_problem(admin_client):
    make_recipient(external_id="ann")
    template = make_template(title="", body="Sale")

    api = admin_client.post(
        reverse("api:template-preview", args=[template.pk]),
        {"recipient": "ann"},
        content_type="application/json",
    ).json()
    page = admin_client.get(
        reverse("admin:notifications_messagetemplate_preview", args=[template.pk]),
        {"recipient": "ann"},
    ).content.decode()

    assert api["imshop"] == {"content": None, "errors": {"title": ["Imshop pushes need a title."]}}
    assert "Title: Imshop pushes need a title." in page
