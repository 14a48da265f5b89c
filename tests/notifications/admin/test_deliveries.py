"""The delivery and event pages speak as staff do; the send loop's own fields are tucked away."""

import re

import pytest
from django.utils import translation

from notifications.models import Delivery, DeliveryEvent
from notifications.reasons import reason_encode

pytestmark = pytest.mark.django_db


def labels_by_section(html: str) -> dict[str, list[str]]:
    """Each fieldset's heading (None for the first without one) and the labels in it."""
    sections: dict[str, list[str]] = {}
    for part in re.split(r"<fieldset", html)[1:]:
        heading = re.search(r'class="fieldset-heading">([^<]*)<', part)
        name = heading.group(1) if heading else None
        sections.setdefault(name, re.findall(r"<label>([^<]*):</label>", part))
    return sections


def test_a_deliverys_engineering_fields_are_in_a_collapsed_technical_section(staff, sample_rows):
    delivery = Delivery.objects.get()
    html = staff.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    sections = labels_by_section(html)
    assert sections["Technical details"] == [
        "Delivery number",
        "Worker holding it",
        "Held by that worker until",
        "Request to the provider began",
        "Prepared at",
        "Last changed",
    ]
    assert "Sent to" in sections[None]
    assert "Claim token" not in html
    technical = html.index("Technical details")
    assert html.rfind("<details", 0, technical) > html.rfind("</details>", 0, technical)


def test_an_events_fingerprint_and_raw_data_are_technical_details(staff, sample_rows):
    event = DeliveryEvent.objects.get()
    html = staff.get(f"/admin/notifications/deliveryevent/{event.pk}/change/").content.decode()
    sections = labels_by_section(html)
    assert sections["Technical details"] == ["Event number", "Raw data", "Fingerprint", "Stored at"]
    assert "Dedup key" not in html
    assert sections[None][:2] == ["Event", "When"]


def test_the_event_filters_name_types_and_links_in_the_readers_language(staff, sample_rows):
    DeliveryEvent.objects.create(type="sms_click", detail="unlinked callback")
    DeliveryEvent.objects.create(type="partner_ping", detail="a kind we do not know")
    staff.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
    page = staff.get("/admin/notifications/deliveryevent/?_facets=True").content.decode()
    assert 'href="?_facets=True&amp;type=sent">Отправлено (1)' in page
    assert 'href="?_facets=True&amp;type=sms_click">Переход из SMS (1)' in page
    # A callback of a kind we don't know keeps its own name.
    assert 'type=partner_ping">partner_ping (1)' in page
    assert "привязка к рассылке" in page
    assert 'campaign__isempty=1">Не привязаны к рассылке (2)' in page
    assert 'campaign__isempty=0">Привязаны к рассылке (1)' in page

    linked = staff.get("/admin/notifications/deliveryevent/?campaign__isempty=0").context["cl"]
    assert [e.type for e in linked.result_list] == ["sent"]


def test_a_skip_reason_reads_in_russian_on_the_delivery_its_event_and_the_event_list(
    staff, sample_rows
):
    delivery = Delivery.objects.get()
    reason = reason_encode("excluded_by", audience="Banned")
    Delivery.objects.filter(pk=delivery.pk).update(status="skipped", error=reason)
    DeliveryEvent.objects.update(type="skipped", detail=reason)
    pages = [
        f"/admin/notifications/delivery/{delivery.pk}/change/",
        f"/admin/notifications/deliveryevent/{DeliveryEvent.objects.get().pk}/change/",
        "/admin/notifications/deliveryevent/",
    ]
    with translation.override("en"):
        russian = [staff.get(page, HTTP_ACCEPT_LANGUAGE="ru").content.decode() for page in pages]
    english = staff.get(pages[0]).content.decode()
    assert all("Исключён аудиторией «Banned»." in html for html in russian)
    assert "Excluded by Banned." in english
    assert "@excluded_by" not in english + "".join(russian)
