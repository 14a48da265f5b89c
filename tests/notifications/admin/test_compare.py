"""The comparison in the admin: the list's action, the page (every number equals the rows its
link opens), bad ids, and the CSV and Excel of its table."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from notifications.admin.charts import relative_timeline_svg, relative_timeline_table
from notifications.admin.compare import compare_url
from notifications.campaigns.compare import COMPARISON_HEADINGS, RelativeTimeline
from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.sending.counters import counters_rebuild
from tests.factories import make_campaign, make_recipient
from tests.notifications.admin import test_numbers
from tests.notifications.admin.test_numbers import _rows_behind

pytestmark = pytest.mark.django_db

# The campaign page's hardest numbers (retries, SMS out of order, clicks on no link), compared:
# test_numbers' cancelled campaign, as a fixture of this module.
numbers_campaign = test_numbers.cancelled_campaign

EVIL = '=HYPERLINK("http://evil.test","x")'
LIST = reverse("admin:notifications_campaign_changelist")


@pytest.fixture
def evil_campaign() -> Campaign:
    """Completed, named like a formula: 2 sent, 1 failed, sent at its start and 5 min later."""
    started = timezone.now() - timedelta(minutes=30)
    campaign = make_campaign(
        name=EVIL,
        status="completed",
        started_at=started,
        dispatched_at=started,
        materialised_at=started,
        finished_at=started + timedelta(minutes=10),
    )
    for status, minutes in (("sent", 0), ("sent", 5), ("failed", 6)):
        at = started + timedelta(minutes=minutes, seconds=1)
        delivery = Delivery.objects.create(
            campaign=campaign,
            recipient=make_recipient(),
            status=status,
            sent_at=at if status == "sent" else None,
        )
        if status == "failed":
            DeliveryEvent.objects.create(
                type=status, campaign=campaign, delivery=delivery, occurred_at=at
            )
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


def _select(client, *campaigns: Campaign):
    return client.post(
        LIST,
        {"action": "compare_selected", "_selected_action": [c.pk for c in campaigns]},
    )


def test_the_action_opens_the_page_of_the_selected_campaigns(admin_client, evil_campaign):
    draft = make_campaign(name="Draft")
    response = _select(admin_client, evil_campaign, draft)
    assert response.status_code == 302
    assert response["Location"] == compare_url(sorted([evil_campaign.pk, draft.pk]))


def test_the_action_with_one_campaign_says_to_choose_more(admin_client, evil_campaign):
    response = _select(admin_client, evil_campaign)
    assert response.status_code == 302
    assert response["Location"] == LIST
    page = admin_client.get(LIST).content.decode()
    assert "Choose 2 to 10 campaigns to compare (1 chosen)." in page


@pytest.mark.parametrize(
    ("ids", "says"),
    [
        ("", "Choose at least 2 campaigns to compare."),
        ("1,abc", "Give campaign ids as numbers separated by commas."),
        ("999998,999999", "No campaigns with the ids 999998, 999999."),
    ],
)
def test_bad_ids_go_back_to_the_list_with_the_reason(admin_client, ids, says):
    response = admin_client.get(reverse("admin:notifications_campaign_compare"), {"ids": ids})
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert says in admin_client.get(LIST).content.decode()


def test_a_campaign_never_started_reads_not_started(admin_client, evil_campaign):
    draft = make_campaign(name="Draft")
    page = admin_client.get(compare_url([evil_campaign.pk, draft.pk])).content.decode()
    started = dict(re.findall(r'<td data-started="(\d+)">(.*?)</td>', page))
    assert "not started" in started[str(draft.pk)]
    assert "not started" not in started[str(evil_campaign.pk)]


def test_the_page_needs_the_view_permission(client, evil_campaign):
    user = User.objects.create_user("nobody", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(user)
    url = compare_url([evil_campaign.pk, make_campaign().pk])
    assert client.get(url).status_code == 403


def test_the_timeline_puts_both_on_one_axis_from_each_start(admin_client, evil_campaign):
    three_days_ago = timezone.now() - timedelta(days=3)
    other = make_campaign(
        name="Other",
        status="completed",
        started_at=three_days_ago,
        materialised_at=three_days_ago,
        finished_at=three_days_ago + timedelta(minutes=20),
    )
    page = admin_client.get(compare_url([evil_campaign.pk, other.pk])).content.decode()
    timeline = page.split('id="compare-timeline"', 1)[1].split("</section>", 1)[0]
    assert "Sent per minute since each campaign&#x27;s start" in timeline
    assert ">0 min<" in timeline
    assert "+5 min" in timeline


def _page_numbers(page: str) -> dict[str, tuple[int, str]]:
    """'<metric> of <campaign id>' -> (number, link) of every linked number on the page."""
    numbers = {}
    table = page.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    for key, cells in re.findall(r'<tr class="metric-(\w+)">(.*?)</tr>', table, re.S):
        for url, number in re.findall(r'<a href="([^"]+)" data-count="\w+">([\d,]+)</a>', cells):
            campaign = re.search(r"campaign__id__exact=(\d+)", html_lib.unescape(url)).group(1)
            numbers[f"{key} of {campaign}"] = (int(number.replace(",", "")), url)
    timeline = page.split('id="compare-timeline"', 1)[1].split("</section>", 1)[0]
    for url, number in re.findall(r'<a href="([^"]+)">[^<]*: ([\d,]+) sent</a>', timeline):
        campaign = re.search(r"campaign__id__exact=(\d+)", html_lib.unescape(url)).group(1)
        numbers[f"legend of {campaign}"] = (int(number.replace(",", "")), url)
    return {label: (n, html_lib.unescape(url)) for label, (n, url) in numbers.items()}


# The cancelled campaign of test_numbers: 30 deliveries, 4 skipped; SMS 1 to 11, 2 lost.
CANCELLED = {
    "reachable": 26,
    "sent": 12,
    "failed": 5,
    "unknown": 3,
    "sms_sent": 11,
    "sms_delivered": 9,
    "sms_lost": 2,
    "sms_clicked": 4,
    "legend": 12,
}
EVIL_NUMBERS = {"reachable": 3, "sent": 2, "failed": 1, "unknown": 0, "legend": 2}


@pytest.fixture
def compare_page(admin_client, numbers_campaign, evil_campaign) -> str:
    url = compare_url([numbers_campaign.pk, evil_campaign.pk])
    return admin_client.get(url).content.decode()


def test_every_linked_number_on_the_page_is_checked(compare_page, numbers_campaign):
    numbers = _page_numbers(compare_page)
    assert {k for k in numbers if k.endswith(f" of {numbers_campaign.pk}")} == {
        f"{key} of {numbers_campaign.pk}" for key in CANCELLED
    }


@pytest.mark.parametrize("key", CANCELLED)
def test_a_number_on_the_page_equals_the_rows_its_link_opens(
    admin_client, compare_page, numbers_campaign, key
):
    number, url = _page_numbers(compare_page)[f"{key} of {numbers_campaign.pk}"]
    assert number == CANCELLED[key]
    assert _rows_behind(admin_client, url) == number


@pytest.mark.parametrize("key", EVIL_NUMBERS)
def test_a_number_of_the_second_campaign_equals_the_rows_its_link_opens(
    admin_client, compare_page, evil_campaign, key
):
    number, url = _page_numbers(compare_page)[f"{key} of {evil_campaign.pk}"]
    assert number == EVIL_NUMBERS[key]
    assert _rows_behind(admin_client, url) == number


def test_the_page_shows_the_shares_the_campaign_page_shows(compare_page):
    # 12 of 26 reachable, as the campaign page's funnel says (test_numbers).
    sent_row = re.search(r'<tr class="metric-sent">(.*?)</tr>', compare_page, re.S).group(1)
    assert "· 46.2 % of reachable" in sent_row
    clicked = re.search(r'<tr class="metric-sms_clicked">(.*?)</tr>', compare_page, re.S).group(1)
    assert "· 44.4 % of delivered" in clicked


def test_the_csv_export_holds_the_table_with_a_formula_name_inert(
    admin_client, numbers_campaign, evil_campaign
):
    url = reverse("admin:notifications_campaign_compare_export", args=["csv"])
    response = admin_client.get(url, {"ids": f"{numbers_campaign.pk},{evil_campaign.pk}"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    heading, first, second = csv.reader(io.StringIO(text))
    assert tuple(heading) == COMPARISON_HEADINGS
    cells = dict(zip(heading, first, strict=True))
    assert cells["Campaign"] == "Numbers"
    assert (cells["Sent"], cells["Sent, % of reachable"]) == ("12", "46.2")
    assert second[0] == "'" + EVIL


def test_the_excel_export_holds_the_same_rows(admin_client, numbers_campaign, evil_campaign):
    url = reverse("admin:notifications_campaign_compare_export", args=["xlsx"])
    response = admin_client.get(url, {"ids": f"{evil_campaign.pk},{numbers_campaign.pk}"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert tuple(rows[0]) == COMPARISON_HEADINGS
    assert rows[1][0] == "'" + EVIL
    assert rows[2][COMPARISON_HEADINGS.index("SMS clicked")] == 4


def test_the_exports_are_in_the_language_of_the_person_who_asked(admin_client, numbers_campaign):
    ids = {"ids": f"{numbers_campaign.pk},{make_campaign(name='Draft').pk}"}
    csv_url = reverse("admin:notifications_campaign_compare_export", args=["csv"])
    response = admin_client.get(csv_url, ids, HTTP_ACCEPT_LANGUAGE="ru")
    # A streamed body is read after the middleware that chose Russian has finished.
    with translation.override("en"):
        text = b"".join(response.streaming_content).decode("utf-8-sig")
    heading, _, never = csv.reader(io.StringIO(text))
    assert heading[:4] == ["Рассылка", "Канал", "Статус", "Начата"]
    assert "Отправлено, % от достижимых" in heading
    assert never[1:4] == ["Пуш Imshop", "Черновик", "не начата"]

    xlsx_url = reverse("admin:notifications_campaign_compare_export", args=["xlsx"])
    response = admin_client.get(xlsx_url, ids, HTTP_ACCEPT_LANGUAGE="ru")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["Сравнение"]
    assert next(workbook.active.iter_rows(values_only=True)) == tuple(heading)


def test_an_export_with_bad_ids_goes_back_to_the_list(admin_client):
    url = reverse("admin:notifications_campaign_compare_export", args=["csv"])
    response = admin_client.get(url, {"ids": "1"})
    assert response.status_code == 302
    assert response["Location"] == LIST


def test_no_sms_rows_when_no_campaign_compared_has_sms(admin_client, evil_campaign):
    page = admin_client.get(compare_url([evil_campaign.pk, make_campaign().pk])).content.decode()
    assert 'class="metric-sent"' in page
    assert "metric-sms" not in page


def test_the_chart_draws_one_line_per_campaign_in_its_colour():
    timeline = RelativeTimeline(
        unit="minute", length=3, series={7: [3, 0, 1], 9: [0, 2, 0]}, totals={7: 4, 9: 2}
    )
    svg = relative_timeline_svg(timeline, {7: "Spring", 9: "Autumn"}, title="Sent")
    assert re.findall(r'<g class="line (series-\d)"><polyline', svg) == ["series-0", "series-1"]
    assert "<title>Autumn, +1 min: 2 sent</title>" in svg


def test_the_charts_numbers_list_the_offsets_with_sends_and_every_send_in_all():
    # Campaign 7 sent one more past the buckets drawn: the total counts it, as the legend does.
    timeline = RelativeTimeline(
        unit="hour", length=3, series={7: [3, 0, 1], 9: [0, 0, 2]}, totals={7: 5, 9: 2}
    )
    table = relative_timeline_table(timeline, {7: "Spring", 9: "Autumn"}, title="Sent")
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table)
    assert [label for label, _ in rows] == ["0 h", "+2 h", "In all"]
    assert re.findall(r">(\d+)</td>", rows[-1][1]) == ["5", "2"]
