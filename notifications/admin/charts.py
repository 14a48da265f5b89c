"""The campaign desk's charts: stacked bar timelines drawn as SVG on the server.

No script library, nothing fetched from a CDN, and the page reads the same without JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.compare import RelativeTimeline, offset_text
from notifications.campaigns.timeline import Timeline

from ..formats import number_text


@dataclass(frozen=True)
class Series:
    """One stacked layer of the chart: the event type, its label, its colour class, and how
    the legend names its events in all (attempts, not deliveries: a delivery retried by staff
    fails twice; callbacks, not SMS: one SMS may report twice)."""

    type: str
    label: str
    css: str
    legend: str


DELIVERY_SERIES = (
    Series(
        "sent", pgettext_lazy("deliveries", "Sent"), "sent", pgettext_lazy("deliveries", "Sent")
    ),
    Series("failed", pgettext_lazy("deliveries", "Failed"), "failed", _("Failed attempts")),
    Series(
        "unknown",
        pgettext_lazy("deliveries", "Unknown"),
        "unknown",
        _("Attempts with no clear answer"),
    ),
)
SMS_SERIES = (
    Series("sms_sent", _("SMS sent"), "sms-sent", _("SMS sent reports")),
    Series("sms_lost", _("SMS lost"), "sms-lost", _("SMS lost reports")),
    Series("sms_click", _("SMS clicks"), "sms-click", _("Clicks")),
)

CHART_WIDTH, CHART_HEIGHT = 860, 150
MAX_BAR_WIDTH = 24
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 48, 20, 8
# Django's date formats, so month names read in the page's language.
_UNIT_FORMAT = {"minute": "H:i", "hour": "d M H:00", "day": "d M"}
# The table's first column, named by the unit of its rows.
_UNIT_HEADINGS = {
    "minute": pgettext_lazy("chart column", "Minute"),
    "hour": pgettext_lazy("chart column", "Hour"),
    "day": pgettext_lazy("chart column", "Day"),
}


# Axis labels are 10 px text (desk.css): no character of theirs is wider than this.
LABEL_CHAR_WIDTH = 6.5
LABEL_GAP = 12


def _label(moment: datetime, unit: str) -> str:
    return date_format(timezone.localtime(moment), _UNIT_FORMAT[unit])


def label_width(text: str) -> float:
    """The most room an axis label takes, in the chart's units."""
    return len(text) * LABEL_CHAR_WIDTH


def axis_labels(timeline: Timeline, step: float) -> list[tuple[int, str]]:
    """(bucket index, text) of the x axis labels, each starting at its bar's left edge.

    Every k-th bucket from the first, k the fewest buckets of width `step` that hold a label
    and a gap, so no two labels meet at any range; none runs past the chart's right edge.
    """
    if not timeline.buckets:
        return []
    widest = max(label_width(_label(bucket, timeline.unit)) for bucket in timeline.buckets)
    every = max(1, math.ceil((widest + LABEL_GAP) / step))
    return [
        (index, _label(timeline.buckets[index], timeline.unit))
        for index in range(0, len(timeline.buckets), every)
        if MARGIN_LEFT + index * step + widest <= CHART_WIDTH
    ]


def timeline_svg(timeline: Timeline, series: tuple[Series, ...], *, title: str) -> SafeString:
    """A stacked bar chart of `series` per bucket, with a y scale and time labels that fit.

    Every bar carries a tooltip (an SVG <title>) with its exact numbers.
    """
    columns = [[timeline.series(s.type)[i] for s in series] for i in range(len(timeline.buckets))]
    peak = max((sum(column) for column in columns), default=0) or 1
    plot_width = CHART_WIDTH - MARGIN_LEFT - 4
    plot_height = CHART_HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    # Few buckets are drawn as bars of a readable width from the left, not stretched to fill.
    step = min(plot_width / max(1, len(columns)), MAX_BAR_WIDTH)
    gap = 1 if step > 4 else 0
    bars = []
    for index, (bucket, column) in enumerate(zip(timeline.buckets, columns, strict=True)):
        x = MARGIN_LEFT + index * step
        base = MARGIN_TOP + plot_height
        tooltip = ", ".join(
            f"{s.label.lower()} {number_text(n)}" for s, n in zip(series, column, strict=True) if n
        )
        rects = []
        for layer, value in zip(series, column, strict=True):
            if not value:
                continue
            height = value / peak * plot_height
            base -= height
            rects.append(
                (layer.css, f"{x:.1f}", f"{base:.1f}", f"{step - gap:.1f}", f"{height:.1f}")
            )
        bars.append(
            format_html(
                "<g><title>{}: {}</title>{}</g>",
                _label(bucket, timeline.unit),
                tooltip or "nothing",
                format_html_join(
                    "",
                    '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}"></rect>',
                    rects,
                ),
            )
        )
    bottom = MARGIN_TOP + plot_height
    x_labels = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="start">{}</text>',
        (
            (f"{MARGIN_LEFT + i * step:.1f}", CHART_HEIGHT - 5, label)
            for i, label in axis_labels(timeline, step)
        ),
    )
    return format_html(
        '<svg class="timeline" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" '
        'preserveAspectRatio="xMinYMin meet">'
        '<text class="axis" x="{lx}" y="{top}" text-anchor="end" dy="0.8em">{peak}</text>'
        '<text class="axis" x="{lx}" y="{bottom}" text-anchor="end">0</text>'
        '<line class="grid" x1="{left}" y1="{top}" x2="{w}" y2="{top}"></line>'
        '<line class="baseline" x1="{left}" y1="{bottom}" x2="{w}" y2="{bottom}"></line>'
        "{bars}{labels}</svg>",
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        title=title,
        lx=MARGIN_LEFT - 6,
        top=MARGIN_TOP,
        bottom=bottom,
        left=MARGIN_LEFT,
        peak=number_text(peak),
        bars=format_html_join("", "{}", ((bar,) for bar in bars)),
        labels=x_labels,
    )


# Full date and time in the table: it is read line by line, not fitted under a bar.
_TABLE_FORMAT = {"minute": "d M H:i", "hour": "d M H:00", "day": "d M Y"}


def timeline_table(timeline: Timeline, series: tuple[Series, ...], *, title: str) -> SafeString:
    """The chart's numbers as a table behind a "Numbers" toggle: what a screen reader reads
    and what prints, one row per bucket with something in it, and the totals.

    The totals count every event of each type (`Timeline.total`), as the legend does.
    """
    rows = [
        (
            date_format(timezone.localtime(bucket), _TABLE_FORMAT[timeline.unit]),
            [timeline.counts.get(bucket, {}).get(s.type, 0) for s in series],
        )
        for bucket in timeline.buckets
        if any(timeline.counts.get(bucket, {}).get(s.type, 0) for s in series)
    ]
    return _numbers_table(
        title=title,
        first_heading=_UNIT_HEADINGS[timeline.unit],
        columns=[s.label for s in series],
        rows=rows,
        totals=[timeline.total(s.type) for s in series],
    )


# One colour class per compared campaign (compare.css), in the order they were chosen.
COMPARE_COLOURS = 10


def series_css(position: int) -> str:
    """The colour class of the `position`-th campaign of a comparison."""
    return f"series-{position % COMPARE_COLOURS}"


def relative_timeline_svg(
    timeline: RelativeTimeline, names: dict[int, str], *, title: str
) -> SafeString:
    """One line per campaign of its sends per bucket since its start, on one relative axis
    ('0 min', '+10 min', ...), with a y scale; each point's tooltip names the campaign, the
    offset and the number."""
    plot_width = CHART_WIDTH - MARGIN_LEFT - 4
    plot_height = CHART_HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    peak = max((n for values in timeline.series.values() for n in values), default=0) or 1
    step = min(plot_width / max(1, timeline.length), MAX_BAR_WIDTH)
    bottom = MARGIN_TOP + plot_height

    def point(index: int, value: int) -> tuple[float, float]:
        return MARGIN_LEFT + (index + 0.5) * step, bottom - value / peak * plot_height

    lines = []
    for position, (campaign_id, values) in enumerate(timeline.series.items()):
        points = [point(i, n) for i, n in enumerate(values)]
        name = names[campaign_id]
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="2.5"><title>{}</title></circle>',
            (
                (
                    f"{x:.1f}",
                    f"{y:.1f}",
                    gettext("%(name)s, %(offset)s: %(count)s sent")
                    % {
                        "name": name,
                        "offset": offset_text(i, timeline.unit),
                        "count": number_text(n),
                    },
                )
                for i, ((x, y), n) in enumerate(zip(points, values, strict=True))
            ),
        )
        lines.append(
            format_html(
                '<g class="line {}"><polyline points="{}"></polyline>{}</g>',
                series_css(position),
                " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                dots,
            )
        )
    labels = _fitted_labels([offset_text(i, timeline.unit) for i in range(timeline.length)], step)
    x_labels = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="start">{}</text>',
        ((f"{MARGIN_LEFT + i * step:.1f}", CHART_HEIGHT - 5, text) for i, text in labels),
    )
    return format_html(
        '<svg class="timeline compare-timeline" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{title}" preserveAspectRatio="xMinYMin meet">'
        '<text class="axis" x="{lx}" y="{top}" text-anchor="end" dy="0.8em">{peak}</text>'
        '<text class="axis" x="{lx}" y="{bottom}" text-anchor="end">0</text>'
        '<line class="grid" x1="{left}" y1="{top}" x2="{w}" y2="{top}"></line>'
        '<line class="baseline" x1="{left}" y1="{bottom}" x2="{w}" y2="{bottom}"></line>'
        "{lines}{labels}</svg>",
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        title=title,
        lx=MARGIN_LEFT - 6,
        top=MARGIN_TOP,
        bottom=bottom,
        left=MARGIN_LEFT,
        peak=number_text(peak),
        lines=format_html_join("", "{}", ((line,) for line in lines)),
        labels=x_labels,
    )


def _fitted_labels(texts: list[str], step: float) -> list[tuple[int, str]]:
    """(index, text) of every k-th label, k the fewest steps that hold the widest and a gap,
    none past the chart's right edge (as `axis_labels` fits the desk's)."""
    if not texts:
        return []
    widest = max(label_width(text) for text in texts)
    every = max(1, math.ceil((widest + LABEL_GAP) / step))
    return [
        (index, texts[index])
        for index in range(0, len(texts), every)
        if MARGIN_LEFT + index * step + widest <= CHART_WIDTH
    ]


def relative_timeline_table(
    timeline: RelativeTimeline, names: dict[int, str], *, title: str
) -> SafeString:
    """The relative chart's numbers behind a "Numbers" toggle: one row per bucket where any
    campaign sent, one column per campaign, and every sent event in all."""
    ids = list(timeline.series)
    rows = [
        (offset_text(i, timeline.unit), [timeline.series[cid][i] for cid in ids])
        for i in range(timeline.length)
        if any(timeline.series[cid][i] for cid in ids)
    ]
    return _numbers_table(
        title=title,
        first_heading=gettext("Since start"),
        columns=[names[c] for c in ids],
        rows=rows,
        totals=[timeline.totals[c] for c in ids],
        scroll=True,
    )


def _numbers_table(
    *,
    title: str,
    first_heading: str,
    columns: list[str],
    rows: list[tuple[str, list[int]]],
    totals: list[int],
    scroll: bool = False,
) -> SafeString:
    """A chart's numbers behind a "Numbers" toggle: a row per (label, counts), the totals last;
    `scroll` lets a wide table scroll inside its box on a phone."""
    head = format_html_join("", '<th scope="col" class="num">{}</th>', ((c,) for c in columns))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (
                label,
                format_html_join(
                    "", '<td class="num">{}</td>', ((number_text(n),) for n in counts)
                ),
            )
            for label, counts in rows
        ),
    )
    total_cells = format_html_join(
        "", '<td class="num">{}</td>', ((number_text(n),) for n in totals)
    )
    table = format_html(
        '<table class="desk-table"><caption>{}</caption>'
        '<thead><tr><th scope="col">{}</th>{}</tr></thead>'
        "<tbody>{}</tbody>"
        '<tfoot><tr><th scope="row">{}</th>{}</tr></tfoot></table>',
        title,
        first_heading,
        head,
        body,
        gettext("In all"),
        total_cells,
    )
    if scroll:
        table = format_html('<div class="compare-scroll">{}</div>', table)
    return format_html(
        '<details class="chart-numbers"><summary>{}</summary>{}</details>',
        gettext("Numbers"),
        table,
    )
