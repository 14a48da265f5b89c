"""The campaign desk's timeline chart: its time labels never overlap, whatever the range."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from notifications.admin.charts import CHART_WIDTH, DELIVERY_SERIES, timeline_svg
from notifications.campaigns.timeline import Timeline, timeline_unit

STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
START = datetime(2026, 12, 6, 18, 28, tzinfo=UTC)


def _timeline(span: timedelta) -> Timeline:
    """A bucket for every step of the span, each with one send."""
    unit = timeline_unit(START, START + span)
    step = STEP[unit]
    buckets = [START + step * i for i in range(int(span / step) + 1)]
    return Timeline(unit=unit, buckets=buckets, counts={b: {"sent": 1} for b in buckets})


def _text_width(text: str) -> float:
    """A generous measure of 10 px sans-serif text: capitals 7.5 px, anything else 6 px."""
    return sum(7.5 if c.isupper() else 6.0 for c in text)


def _labels(svg: str) -> list[tuple[float, float, str]]:
    found = re.findall(
        r'<text class="axis" x="([\d.]+)" y="145" text-anchor="start">([^<]+)</text>', svg
    )
    return [(float(x), float(x) + _text_width(text), text) for x, text in found]


@pytest.mark.parametrize(
    ("span", "unit", "at_least"),
    [
        (timedelta(minutes=1), "minute", 1),
        (timedelta(minutes=10), "minute", 2),
        (timedelta(hours=3), "minute", 5),
        (timedelta(hours=5), "hour", 2),
        (timedelta(days=3), "hour", 5),
        (timedelta(days=300), "day", 5),
    ],
    ids=["1 minute", "10 minutes", "3 hours", "5 hours", "3 days", "300 days"],
)
def test_no_two_time_labels_overlap_and_none_leaves_the_chart(span, unit, at_least):
    timeline = _timeline(span)
    assert timeline.unit == unit
    labels = _labels(str(timeline_svg(timeline, DELIVERY_SERIES, title="Deliveries")))
    assert len(labels) >= at_least
    for (_, end, text), (start, _, after) in itertools.pairwise(labels):
        assert end < start, f"{text!r} runs into {after!r}"
    assert labels[-1][1] <= CHART_WIDTH


def test_a_single_bucket_still_gets_its_label():
    timeline = _timeline(timedelta(0))
    labels = _labels(str(timeline_svg(timeline, DELIVERY_SERIES, title="Deliveries")))
    assert [text for _, _, text in labels] == ["18:28"]


def test_the_charts_numbers_are_a_table_too_with_the_legends_totals():
    from notifications.admin.charts import DELIVERY_SERIES, timeline_table

    start = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    buckets = [start + timedelta(minutes=i) for i in range(3)]
    later = start + timedelta(minutes=500)  # beyond the buckets drawn: still in the totals
    counts = {
        buckets[0]: {"sent": 1200, "failed": 2},
        buckets[2]: {"sent": 3},
        later: {"sent": 1},
    }
    html = str(timeline_table(Timeline("minute", buckets, counts), DELIVERY_SERIES, title="T"))
    assert html.count("<tr>") == 1 + 2 + 1  # head, the two buckets with sends, totals
    assert '06 Dec 09:00</th><td class="num">1,200</td><td class="num">2</td>' in html
    assert 'In all</th><td class="num">1,204</td><td class="num">2</td>' in html
