"""Export links on the delivery, event and recipient lists: the file holds what the list shows."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from notifications.admin import exports
from notifications.models import Delivery, DeliveryEvent, StaffProfile
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db

ATTACK = '=HYPERLINK("http://evil.example","Click")'


def list_url(model: str) -> str:
    return reverse(f"admin:notifications_{model}_changelist")


def export_url(model: str, file_format: str) -> str:
    return reverse(f"admin:notifications_{model}_export", args=[file_format])


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    data = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data)))


def xlsx_rows(response) -> list[tuple]:
    assert response.streaming
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


@pytest.fixture
def deliveries():
    """Three campaigns to c-1, c-2 and a name that is a formula, in a mix of statuses."""
    people = [
        make_recipient(external_id="c-1", first_name="Анна 🎉"),
        make_recipient(external_id="c-2"),
        make_recipient(external_id="c-3", first_name=ATTACK),
    ]
    campaigns = [make_campaign(make_audience(), name=f"Spring sale {n}") for n in range(3)]
    statuses = [Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SENT]
    for campaign, status in zip(campaigns, statuses, strict=True):
        for person in people:
            Delivery.objects.create(campaign=campaign, recipient=person, status=status)
    return campaigns


@pytest.mark.parametrize("model", ["delivery", "deliveryevent", "recipient"])
def test_the_list_links_to_its_exports_with_its_filters_and_search(staff, sample_rows, model):
    html = staff.get(list_url(model) + "?q=c-1").content.decode()
    for file_format, label in [("csv", "Export CSV"), ("xlsx", "Export Excel")]:
        assert f'href="{export_url(model, file_format)}?q=c-1">{label}</a>' in html


def test_the_delivery_csv_holds_exactly_the_rows_the_filtered_searched_list_counts(
    staff, deliveries
):
    query = "?status__exact=sent&q=c-1"
    listed = staff.get(list_url("delivery") + query).context["cl"].result_count
    rows = csv_rows(staff.get(export_url("delivery", "csv") + query))
    assert listed == 2
    assert len(rows) - 1 == listed
    assert {(row[1], row[4]) for row in rows[1:]} == {("c-1", "Sent")}


def test_the_delivery_workbook_holds_exactly_the_rows_the_filtered_list_counts(staff, deliveries):
    query = "?status__exact=sent"
    listed = staff.get(list_url("delivery") + query).context["cl"].result_count
    rows = xlsx_rows(staff.get(export_url("delivery", "xlsx") + query))
    assert listed == 6
    assert len(rows) - 1 == listed


def test_a_name_that_is_a_formula_is_inert_in_both_files_and_cyrillic_survives(staff, deliveries):
    query = f"?campaign__id__exact={deliveries[0].pk}"
    csv_names = {row[2] for row in csv_rows(staff.get(export_url("delivery", "csv") + query))}
    response = staff.get(export_url("delivery", "xlsx") + query)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    xlsx_names = {row[2].value for row in sheet.iter_rows(min_row=2)}
    assert {"'" + ATTACK, "Анна 🎉"} <= csv_names
    assert {"'" + ATTACK, "Анна 🎉"} <= xlsx_names
    assert all(row[2].data_type == "s" for row in sheet.iter_rows(min_row=2) if row[2].value)


def test_the_file_is_named_after_the_chosen_campaign_and_the_day(staff, deliveries):
    response = staff.get(export_url("delivery", "csv") + f"?campaign__id__exact={deliveries[1].pk}")
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="deliveries-spring-sale-1-20')
    assert disposition.endswith('.csv"')
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_the_recipient_export_follows_the_lists_filter_and_search(staff, deliveries):
    make_recipient(external_id="gone", opted_out_at=datetime(2026, 1, 1, tzinfo=UTC))
    query = "?opted_out_at__isempty=1&q=c-2"
    listed = staff.get(list_url("recipient") + query).context["cl"].result_count
    rows = csv_rows(staff.get(export_url("recipient", "csv") + query))
    assert listed == 1
    # The search joins addresses, so the list is DISTINCT: the row still has just its columns.
    assert rows[1:] == [["c-2", "", "", "", "", *[""] * (len(rows[0]) - 5)]]


def test_event_times_are_in_the_zone_of_the_person_exporting(client, admin_user):
    StaffProfile.objects.create(user=admin_user, time_zone="Asia/Vladivostok")
    client.force_login(admin_user)
    DeliveryEvent.objects.create(type="sent", occurred_at=datetime(2026, 12, 6, 9, 30, tzinfo=UTC))
    rows = csv_rows(client.get(export_url("deliveryevent", "csv")))
    assert rows[1][:2] == ["2026-12-06 19:30:00", "Sent"]


def test_export_needs_the_lists_view_permission(client, django_user_model, sample_rows):
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(export_url("delivery", "csv")).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    assert client.get(export_url("delivery", "csv")).status_code == 200
    assert client.get(export_url("recipient", "xlsx")).status_code == 403


def test_an_unknown_format_is_not_found(staff, sample_rows):
    assert staff.get(export_url("delivery", "pdf")).status_code == 404


def test_a_filter_the_list_refuses_sends_back_to_the_list_with_its_error_flag(staff):
    response = staff.get(export_url("delivery", "csv") + "?nonsense=1")
    assert response.status_code == 302
    assert response["Location"] == list_url("delivery") + "?e=1"


def test_a_list_longer_than_an_excel_sheet_is_refused_with_a_message_pointing_to_csv(
    staff, deliveries, monkeypatch
):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 5)
    response = staff.get(export_url("delivery", "xlsx") + "?status__exact=sent", follow=True)
    assert response.redirect_chain[-1][0] == list_url("delivery") + "?status__exact=sent"
    assert "Excel opens at most 5 rows and this list has 6. Export CSV" in (
        response.content.decode()
    )
