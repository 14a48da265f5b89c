"""Campaigns compared: rows read from each campaign's report, the ids a comparison accepts, the
spreadsheet rows, and sends on one axis from each start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.compare import (
    COMPARISON_HEADINGS,
    MAX_COMPARED,
    NOT_STARTED,
    campaigns_compare,
    campaigns_relative_timeline,
    compare_ids_parse,
    comparison_rows,
    offset_text,
)
from notifications.errors import InvalidInput
from notifications.models import Campaign, Delivery
from notifications.sending.counters import counters_rebuild
from tests.factories import make_campaign, make_recipient

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)
FRIDAY = datetime(2026, 12, 4, 15, 20, 0, tzinfo=UTC)


def sent_campaign(name: str, started: datetime, sends: dict[int, int], **fields) -> Campaign:
    """A completed campaign started at `started` that sent `sends[minute]` deliveries in the
    minute that many minutes after its start, and skipped one delivery."""
    campaign = make_campaign(
        name=name,
        status="completed",
        started_at=started,
        dispatched_at=started,
        materialised_at=started,
        finished_at=started + timedelta(minutes=max(sends, default=0) + 1),
        **fields,
    )
    for minute, count in sends.items():
        for _ in range(count):
            Delivery.objects.create(
                campaign=campaign,
                recipient=make_recipient(),
                status="sent",
                sent_at=started + timedelta(minutes=minute, seconds=10),
            )
    Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status="skipped")
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


def test_a_comparison_reads_each_campaigns_counts_and_rates_in_the_order_asked():
    first = sent_campaign("First", MONDAY, {0: 3})
    second = sent_campaign("Second", FRIDAY, {0: 1, 2: 1})
    compared = campaigns_compare(campaign_ids=[second.pk, first.pk])
    assert [c.name for c in compared] == ["Second", "First"]
    assert compared[0].report.deliveries["sent"] == 2
    assert compared[0].report.reachable == 2
    assert compared[1].report.rates["sent"].ratio == 1.0


def test_a_campaign_never_started_is_compared_without_a_report():
    started = sent_campaign("Started", MONDAY, {0: 1})
    draft = make_campaign(name="Draft")
    compared = campaigns_compare(campaign_ids=[started.pk, draft.pk])
    assert compared[1].report is None
    assert compared[1].started_at is None


@pytest.mark.parametrize(
    ("ids", "says"),
    [
        ([1], "at least 2"),
        ([1, 1], "at least 2"),
        (list(range(1, MAX_COMPARED + 2)), f"at most {MAX_COMPARED}"),
    ],
)
def test_a_comparison_needs_two_to_ten_distinct_campaigns(ids, says):
    with pytest.raises(InvalidInput) as refusal:
        campaigns_compare(campaign_ids=ids)
    assert says in refusal.value.message_dict["ids"][0]


def test_a_comparison_names_the_ids_that_do_not_exist():
    campaign = make_campaign()
    with pytest.raises(InvalidInput) as refusal:
        campaigns_compare(campaign_ids=[campaign.pk, 999_999])
    assert refusal.value.message_dict == {"ids": ["No campaign with the id 999999."]}


@pytest.mark.parametrize("text", ["1,x", "1;2", "-1,2", "1.5,2"])
def test_ids_that_are_not_numbers_are_refused_on_the_field_ids(text):
    with pytest.raises(InvalidInput) as refusal:
        compare_ids_parse(text)
    assert list(refusal.value.message_dict) == ["ids"]


def test_ids_are_read_in_order_with_spaces_and_empty_parts_ignored():
    assert compare_ids_parse(" 5, 3,,8 ") == [5, 3, 8]


def test_spreadsheet_rows_hold_counts_and_percentages_under_their_headings():
    started = sent_campaign("Started", MONDAY, {0: 3})
    draft = make_campaign(name="Draft")
    row, draft_row = comparison_rows(campaigns_compare(campaign_ids=[started.pk, draft.pk]))
    cells = dict(zip(COMPARISON_HEADINGS, row, strict=True))
    assert cells["Started"] == MONDAY
    assert cells["Reachable"] == 3
    assert cells["Sent"] == 3
    assert cells["Sent, % of reachable"] == 100.0
    # No SMS: nothing to divide by, so no share rather than 0 %.
    assert cells["SMS delivered, % of SMS sent"] is None
    assert draft_row == ("Draft", draft.get_channel_display(), "Draft", NOT_STARTED)


def test_sends_line_up_from_each_campaigns_start_whatever_day_it_started():
    monday = sent_campaign("Monday", MONDAY, {0: 3, 1: 1})
    friday = sent_campaign("Friday", FRIDAY, {0: 1, 2: 2})
    timeline = campaigns_relative_timeline(
        compared=campaigns_compare(campaign_ids=[monday.pk, friday.pk])
    )
    assert timeline.unit == "minute"
    # MONDAY starts at 09:00:30: its sends at 09:00:40 and 09:01:40 fall in the minutes
    # starting 09:00 and 09:01, which are 0 and +1 min from its start.
    assert timeline.series == {monday.pk: [3, 1, 0], friday.pk: [1, 0, 2]}
    assert timeline.totals == {monday.pk: 4, friday.pk: 3}


def test_the_longest_campaign_chooses_the_unit_for_all():
    short = sent_campaign("Short", MONDAY, {0: 1})
    long = sent_campaign("Long", FRIDAY, {0: 1, 60 * 5: 1})
    timeline = campaigns_relative_timeline(
        compared=campaigns_compare(campaign_ids=[short.pk, long.pk])
    )
    assert timeline.unit == "hour"
    assert timeline.series[long.pk] == [1, 0, 0, 0, 0, 1]


def test_no_timeline_when_nothing_was_sent():
    drafts = [make_campaign().pk, make_campaign().pk]
    assert campaigns_relative_timeline(compared=campaigns_compare(campaign_ids=drafts)) is None


@pytest.mark.parametrize(
    ("index", "unit", "text"),
    [
        (0, "minute", "0 min"),
        (10, "minute", "+10 min"),
        (90, "minute", "+1 h 30 min"),
        (0, "hour", "0 h"),
        (26, "hour", "+1 d 2 h"),
        (3, "day", "+3 d"),
    ],
)
def test_offsets_read_as_time_since_the_start(index, unit, text):
    assert offset_text(index, unit) == text
