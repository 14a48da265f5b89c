"""Every number on the campaign page and in the campaign list equals the rows its link opens.

Each test renders the page as staff see it, takes one number and its link from the HTML, opens
the link as the same user and compares the list's result count with the number. The campaign has
what makes numbers drift apart: failures retried by staff (two failed attempts per delivery),
unknowns, skips, cancellations, duplicate and out-of-order SMS callbacks (a loss reported before
the send, a loss or a click whose send never arrived, a click repeated), clicks on two links and
on none, and a click whose recipient is not known.
"""

from __future__ import annotations

import html as html_lib
import itertools
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.sending.counters import counters_rebuild
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

_chats = itertools.count(5000)
OUTCOMES = {"sent": 12, "failed": 5, "unknown": 3, "skipped": 4, "cancelled": 6}
SALE = "https://shop.test/sale?utm=sms&x=1"
NEW = "https://shop.test/new"


def _deliveries(campaign: Campaign, statuses: list[str], **fields) -> list[Delivery]:
    people = [make_recipient(addresses={"yandex_market": str(next(_chats))}) for _ in statuses]
    campaign.audiences.add(make_audience(*people))
    return [
        Delivery.objects.create(campaign=campaign, recipient=person, status=status, **fields)
        for person, status in zip(people, statuses, strict=True)
    ]


def _event(campaign: Campaign, kind: str, minutes_ago: float, delivery=None, **fields):
    return DeliveryEvent.objects.create(
        type=kind,
        campaign=campaign,
        delivery=delivery,
        recipient_id=delivery.recipient_id if delivery else None,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


@pytest.fixture
def cancelled_campaign() -> Campaign:
    """A campaign cancelled after 12 sent, 5 failed twice, 3 unknown, 4 skipped, 6 cancelled,
    with SMS callbacks for the 10 first sent (SMS 1 to 10) and a click on SMS 11, whose
    recipient is unknown; clicks on two links and on none."""
    started = timezone.now() - timedelta(minutes=40)
    campaign = make_campaign(
        name="Numbers",
        channel="yandex_market",
        template=make_template(body="Hi"),
        status="cancelled",
        content={"body": "Hi"},
        started_at=started,
        dispatched_at=started,
        materialised_at=started,
        finished_at=timezone.now(),
        sendios_project_id=1,
        sendios_template_id=2,
    )
    made = _deliveries(campaign, [s for s, n in OUTCOMES.items() for _ in range(n)])
    by_status = {s: [d for d in made if d.status == s] for s in OUTCOMES}
    for delivery in by_status["sent"]:
        delivery.sent_at = timezone.now() - timedelta(minutes=30)
        delivery.save(update_fields=["sent_at"])
    for delivery in by_status["failed"]:
        # Failed, retried by staff with the same content, failed again.
        _event(campaign, "retry_scheduled", 35, delivery)
        _event(campaign, "failed", 34, delivery)
        _event(campaign, "failed", 20, delivery)
    for delivery in by_status["unknown"]:
        _event(campaign, "unknown", 25, delivery)
    for delivery in by_status["skipped"]:
        _event(campaign, "skipped", 39, delivery)
    for delivery in by_status["cancelled"]:
        _event(campaign, "cancelled", 10, delivery)
    sent = by_status["sent"]
    # SMS 2's loss arrives before its send; SMS 9 is lost and SMS 10 clicked with no send
    # reported; SMS 1's send is reported twice; SMS 3 is clicked three times.
    _event(campaign, "sms_lost", 28, sent[1], sms_id=2)
    for sms_id in range(1, 9):
        _event(campaign, "sms_sent", 29, sent[sms_id - 1], sms_id=sms_id)
    _event(campaign, "sms_sent", 27, sent[0], sms_id=1)
    _event(campaign, "sms_lost", 26, sent[8], sms_id=9)
    for minutes_ago in (20, 19, 18):
        _event(campaign, "sms_click", minutes_ago, sent[2], sms_id=3, link=SALE)
    _event(campaign, "sms_click", 17, sent[3], sms_id=4, link=SALE)
    _event(campaign, "sms_click", 16, sent[9], sms_id=10, link=NEW)
    # The person of SMS 3 also follows a click that names no link; SMS 11's click arrives
    # before its recipient exists, so it is counted by its SMS.
    _event(campaign, "sms_click", 15, sent[2], sms_id=3)
    _event(campaign, "sms_click", 14, sms_id=11, link=SALE)
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


@pytest.fixture
def running_campaign() -> Campaign:
    """A running campaign: 3 sent, 4 pending (one waiting for a retry), 2 claimed by a worker
    and waiting for their turn, 1 whose request has begun."""
    started = timezone.now() - timedelta(minutes=5)
    campaign = make_campaign(
        name="Live numbers",
        channel="yandex_market",
        template=make_template(body="Hi"),
        status="running",
        content={"body": "Hi"},
        started_at=started,
        dispatched_at=started,
        materialised_at=started,
        worker_seen_at=timezone.now(),
    )
    for delivery in _deliveries(campaign, ["sent"] * 3):
        _event(campaign, "sent", 2, delivery)
    _deliveries(campaign, ["pending"] * 3)
    retry = _deliveries(
        campaign, ["pending"], attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    _event(campaign, "retry_scheduled", 1, retry[0])
    _deliveries(campaign, ["sending"] * 2)
    _deliveries(campaign, ["sending"], request_started_at=timezone.now())
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


def _page_numbers(page: str) -> dict[str, tuple[int, str]]:
    """Label -> (number, link) of each linked number on a campaign page, by section."""
    numbers = {}
    funnel = page.split('id="funnel"', 1)[1].split("</section>", 1)[0]
    main, _, sms = funnel.partition('id="sms-funnel"')
    row = re.compile(
        r'<th scope="row">([^<]+)</th>\s*<td class="num"><a href="([^"]+)"[^>]*>([\d,]+)'
    )
    for label, url, number in row.findall(main):
        numbers[f"funnel: {label}"] = (int(number.replace(",", "")), url)
    for label, url, number in row.findall(sms):
        numbers[f"sms funnel: {label}"] = (int(number.replace(",", "")), url)
    if 'id="timeline"' in page:
        timeline = page.split('id="timeline"', 1)[1].split("</section>", 1)[0]
        for url, label, number in re.findall(r'<a href="([^"]+)">([^<:]+): ([\d,]+)</a>', timeline):
            numbers[f"legend: {label}"] = (int(number.replace(",", "")), url)
    if 'id="link-clicks"' in page:
        links = page.split('id="link-clicks"', 1)[1].split("</table>", 1)[0]
        row = re.compile(
            r'<th scope="row"[^>]*>([^<]+)</th>\s*'
            r'<td class="num"><a href="([^"]+)"[^>]*>([\d,]+)</a></td>\s*'
            r'<td class="num"><a href="([^"]+)"[^>]*>([\d,]+)</a></td>'
        )
        for label, people_url, people, clicks_url, clicks in row.findall(links):
            label = html_lib.unescape(label)
            numbers[f"link {label}: people"] = (int(people.replace(",", "")), people_url)
            numbers[f"link {label}: clicks"] = (int(clicks.replace(",", "")), clicks_url)
    left = re.search(r'<a href="([^"]+)" data-live="left">([\d,]+)</a>', page)
    if left:
        numbers["left to send"] = (int(left.group(2).replace(",", "")), left.group(1))
    return {label: (n, html_lib.unescape(url)) for label, (n, url) in numbers.items()}


def _list_numbers(page: str, campaign: Campaign) -> dict[str, tuple[int, str]]:
    """Column -> (number, link) of the campaign's row in the campaign list."""
    row = next(r for r in page.split("<tr") if f"/campaign/{campaign.pk}/change/" in r)
    cells = re.findall(r'<td class="field-(\w+)[^"]*">(.*?)</td>', row, re.S)
    numbers = {}
    for column, cell in cells:
        link = re.search(r'<a[^>]* href="([^"]+)"[^>]*>([\d,]+)</a>', cell)
        if link:
            count = int(link.group(2).replace(",", ""))
            numbers[f"list: {column}"] = (count, html_lib.unescape(link.group(1)))
    return numbers


def _rows_behind(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


CANCELLED_NUMBERS = {
    "funnel: Deliveries": 30,
    "funnel: Sent": 12,
    "funnel: Failed": 5,
    "funnel: Unknown (may have arrived)": 3,
    "funnel: Skipped (excluded, opted out, no address)": 4,
    "funnel: Cancelled": 6,
    "sms funnel: SMS sent": 11,
    "sms funnel: Lost": 2,
    "sms funnel: Delivered": 9,
    "sms funnel: Clicked": 4,
    "legend: Sent": 12,
    "legend: Failed attempts": 10,
    "legend: Attempts with no clear answer": 3,
    "legend: SMS sent reports": 9,
    "legend: SMS lost reports": 2,
    "legend: Clicks": 7,
    # Three clicks by the person of SMS 3, one by SMS 4's, one by SMS 11 (no recipient).
    f"link {SALE}: people": 3,
    f"link {SALE}: clicks": 5,
    f"link {NEW}: people": 1,
    f"link {NEW}: clicks": 1,
    "link (no link): people": 1,
    "link (no link): clicks": 1,
}


@pytest.mark.parametrize("label", CANCELLED_NUMBERS)
def test_a_number_on_the_page_of_a_cancelled_campaign_equals_the_rows_its_link_opens(
    admin_client, cancelled_campaign, label
):
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[cancelled_campaign.pk])
    ).content.decode()
    number, url = _page_numbers(page)[label]
    assert number == CANCELLED_NUMBERS[label]
    assert _rows_behind(admin_client, url) == number


RUNNING_NUMBERS = {
    "funnel: Deliveries": 10,
    "funnel: Sent": 3,
    "funnel: Waiting": 6,
    "funnel: Being sent": 1,
    "left to send": 7,
}


@pytest.mark.parametrize("label", RUNNING_NUMBERS)
def test_a_number_on_the_page_of_a_running_campaign_equals_the_rows_its_link_opens(
    admin_client, running_campaign, label
):
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[running_campaign.pk])
    ).content.decode()
    number, url = _page_numbers(page)[label]
    assert number == RUNNING_NUMBERS[label]
    assert _rows_behind(admin_client, url) == number


LIST_NUMBERS = {
    "list: audience": 30,
    "list: sent": 12,
    "list: failed": 5,
    "list: unknown": 3,
    # SMS 3 (clicked four times), 4, 10 and 11 (clicked with no send reported): each once.
    "list: sms_clicks": 4,
}


def test_every_linked_number_in_the_list_is_checked(admin_client, cancelled_campaign):
    page = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert set(_list_numbers(page, cancelled_campaign)) == set(LIST_NUMBERS)


@pytest.mark.parametrize("column", LIST_NUMBERS)
def test_a_number_in_the_campaign_list_equals_the_rows_its_link_opens(
    admin_client, cancelled_campaign, column
):
    page = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    number, url = _list_numbers(page, cancelled_campaign)[column]
    assert number == LIST_NUMBERS[column]
    assert _rows_behind(admin_client, url) == number


def test_every_linked_number_on_the_page_is_checked(admin_client, cancelled_campaign):
    # A number added to the page later without a test of its own fails here.
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[cancelled_campaign.pk])
    ).content.decode()
    assert set(_page_numbers(page)) == set(CANCELLED_NUMBERS)


def _shares(page: str) -> dict[str, str]:
    """Label -> the share shown next to its count, in the funnels."""
    funnel = page.split('id="funnel"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="num"><a [^>]+>[\d,]+</a>'
        r' <span class="rate"[^>]*>· ([^<]+)</span>',
        funnel,
    )
    return dict(found)


def test_the_funnels_show_each_outcome_as_a_share_of_what_it_is_counted_against(
    admin_client, cancelled_campaign
):
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[cancelled_campaign.pk])
    ).content.decode()
    # 26 reachable (30 less 4 skipped); 11 SMS sent, 9 of them delivered.
    assert _shares(page) == {
        "Sent": "46.2 % of reachable",
        "Failed": "19.2 % of reachable",
        "Unknown (may have arrived)": "11.5 % of reachable",
        "Lost": "18.2 % of SMS sent",
        "Delivered": "81.8 % of SMS sent",
        "Clicked": "44.4 % of delivered",
    }


def test_a_running_campaigns_shares_refresh_with_its_counts(admin_client, running_campaign):
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[running_campaign.pk])
    ).content.decode()
    live = admin_client.get(
        reverse("admin:notifications_campaign_progress", args=[running_campaign.pk])
    ).json()
    # The page and the JSON it polls say the same shares, and the page marks where they go.
    assert 'data-live-rate="sent"' in page
    assert _shares(page)["Sent"] == live["rates"]["sent"]
