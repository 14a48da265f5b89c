"""A dispatched campaign's progress as staff read it: the bar, its headline, what is happening
now in a sentence, and the time left with what it rests on.

The campaign page shows it when loaded, the JSON endpoint returns it for the page to poll, and
the campaign list draws the same bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy

from notifications.campaigns.activity import Activity, State, campaign_activity
from notifications.campaigns.capped import CappedDeliveries
from notifications.campaigns.kept import campaign_capped
from notifications.campaigns.plan import channel_limits
from notifications.campaigns.quiet_hours import NOBODY_WAITS, Waiting
from notifications.campaigns.report import RATE_LABELS, Rate, delivery_rates
from notifications.campaigns.selectors import campaign_progress, campaign_recent_rate
from notifications.campaigns.time_left import campaign_time_left_estimate
from notifications.models import Campaign, Delivery
from notifications.providers.limits import Limits
from notifications.reasons import reason_text

from ..formats import number_text
from .base import age_text, local_time_text

_PERIOD_NAMES = {
    1: pgettext_lazy("rate period", "second"),
    60: pgettext_lazy("rate period", "minute"),
    3600: pgettext_lazy("rate period", "hour"),
    86400: pgettext_lazy("rate period", "day"),
}


def rate_text(limits: Limits) -> str:
    """A provider's rate as people say it: '1,000/hour'."""
    return f"{number_text(limits.rate_count)}/{_PERIOD_NAMES[limits.rate_period]}"


def duration_text(seconds: float | None) -> str:
    """A rough duration: 'under a minute', '≈ 12 min', '≈ 3 h 20 min', '≈ 2 days'."""
    if seconds is None:
        return pgettext("duration", "unknown")
    if seconds < 60:
        return gettext("under a minute")
    minutes = round(seconds / 60)
    if minutes < 60:
        return gettext("≈ %(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return gettext("≈ %(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return gettext("≈ %(hours)s h") % {"hours": hours}
    days = round(seconds / 86400, 1)
    if days.is_integer():
        return ngettext("≈ %(days)s day", "≈ %(days)s days", int(days)) % {"days": int(days)}
    # A fraction of days: Russian says it in a form of its own ('1,5 дня').
    return pgettext("fraction of days", "≈ %(days)s days") % {"days": number_format(days)}


# The parts of the bar, in the order they are drawn; what is left stays unfilled.
BAR_PARTS = (
    Delivery.Status.SENT,
    Delivery.Status.FAILED,
    Delivery.Status.UNKNOWN,
    Delivery.Status.SKIPPED,
    Delivery.Status.CANCELLED,
)


@dataclass(frozen=True)
class ProgressSummary:
    """A campaign's bar and the words beside it: `headline` on its page, `short` in the list."""

    percent: int
    parts: dict[str, float]
    headline: str
    short: str


def progress_summary(status: str, progress: dict[str, int]) -> ProgressSummary:
    """The bar of a campaign in `status` with these counters: finished deliveries by outcome,
    each its share of all; a cancelled or completed campaign is said by what was sent, a live
    one by how much is done."""
    total, done, sent = progress["total"], progress["done"], progress["sent"]
    percent = int(done * 100 / total) if total else 0
    parts = {
        str(part): round(progress[part] * 100 / total, 2) if total else 0.0 for part in BAR_PARTS
    }
    numbers = {
        "sent": number_text(sent),
        "done": number_text(done),
        "total": number_text(total),
        "percent": percent,
    }
    if status in (Campaign.Status.CANCELLED, Campaign.Status.COMPLETED):
        if sent < total:
            # "Of the total", not "N not sent": the funnel's "Not sent" counts the failed
            # only, while the rest of the total may be skipped or cancelled.
            short = gettext("%(sent)s of %(total)s sent") % numbers
        else:
            short = gettext("%(sent)s sent") % numbers
        if status == Campaign.Status.CANCELLED:
            headline = gettext("Cancelled — %(short)s") % {"short": short}
        else:
            headline = gettext("Completed — %(short)s") % {"short": short}
        return ProgressSummary(percent, parts, headline, short)
    short = gettext("%(done)s of %(total)s done") % numbers
    headline = (
        ngettext(
            "%(percent)s %% — %(done)s of %(total)s delivery done",
            "%(percent)s %% — %(done)s of %(total)s deliveries done",
            total,
        )
        % numbers
    )
    if status == Campaign.Status.PAUSED:
        headline = (
            ngettext(
                "Paused — %(done)s of %(total)s delivery done",
                "Paused — %(done)s of %(total)s deliveries done",
                total,
            )
            % numbers
        )
    return ProgressSummary(percent, parts, headline, short)


def progress_bar_html(status: str, progress: dict[str, int]) -> SafeString:
    """The small bar of the campaign list, with the same parts as the page's and its words."""
    summary = progress_summary(status, progress)
    return format_html(
        '<div class="progress" role="progressbar" aria-valuenow="{}" aria-valuemin="0" '
        'aria-valuemax="100" title="{}">{}</div><span class="progress-text">{}</span>',
        summary.percent,
        summary.headline,
        format_html_join(
            "",
            '<span class="part part-{}" style="width: {}%"></span>',
            ((part, f"{width:.2f}") for part, width in summary.parts.items()),
        ),
        summary.short,
    )


def _state_sentence(campaign: Campaign, activity: Activity) -> tuple[str, bool, str]:
    """(what is happening, whether it needs someone to act, the page that helps or "")."""
    state = activity.state
    providers = reverse("admin:notifications_campaign_providers")
    if state == State.SCHEDULED:
        left = (campaign.scheduled_at - timezone.now()).total_seconds()
        at = local_time_text(campaign.scheduled_at)
        sentence = gettext("Scheduled: starts in %(duration)s (%(moment)s).") % {
            "duration": duration_text(left),
            "moment": at,
        }
        return sentence, False, ""
    if state == State.STARTING:
        return gettext("Starting: waiting for the background worker to pick it up."), False, ""
    if state == State.PREPARING:
        return gettext("Preparing deliveries for the audience…"), False, ""
    if state == State.SENDING:
        if activity.in_flight:
            sentence = ngettext(
                "Sending: %(count)s on its way to the provider.",
                "Sending: %(count)s on their way to the provider.",
                activity.in_flight,
            ) % {"count": number_text(activity.in_flight)}
            return sentence, False, ""
        return gettext("Sending."), False, ""
    if state == State.WAITING:
        wait = math.ceil(activity.wait_seconds)
        if wait >= 1:
            sentence = gettext(
                "Waiting for the provider's limit: next request in %(seconds)s s."
            ) % {"seconds": wait}
        else:
            sentence = gettext("Waiting for the provider's limit: next request in under a second.")
        return sentence, False, ""
    if state == State.HELD:
        until = timezone.localtime(activity.hold_until).strftime("%H:%M:%S")
        if activity.hold_reason:
            sentence = gettext(
                "Held by the provider until %(time)s (%(reason)s). Sending goes on by itself then."
            ) % {"time": until, "reason": reason_text(activity.hold_reason)}
        else:
            sentence = gettext(
                "Held by the provider until %(time)s. Sending goes on by itself then."
            ) % {"time": until}
        return sentence, False, ""
    if state == State.RETRYING:
        sentence = gettext("Waiting to try again: what is left failed for now and is due later.")
        return sentence, False, ""
    if state == State.FINISHING:
        return gettext("Finishing: every delivery has an answer."), False, ""
    if state == State.NO_WORKER:
        return (
            gettext(
                "Nothing has been sent for a while: the background worker seems to have "
                "stopped. Ask whoever runs Vestnik to start it; sending goes on where it stopped."
            ),
            True,
            "",
        )
    if state == State.PAUSED:
        reason = reason_text(campaign.pause_reason) or gettext("Paused.")
        since = age_text(campaign.paused_at or campaign.updated_at)
        if campaign.pause_cause in ("", Campaign.PauseCause.STAFF):
            return (
                gettext("%(reason)s (%(since)s) Resume to go on.")
                % {"reason": reason, "since": since},
                False,
                "",
            )
        return (
            gettext("%(reason)s Check the provider's settings on the Providers page, then Resume.")
            % {"reason": reason},
            True,
            providers,
        )
    return "", False, ""


def quiet_hours_text(campaign: Campaign, waiting: Waiting) -> str:
    """'Waiting for quiet hours to end: 1,204, from 10:00 their time', or '' when nobody is
    outside the window."""
    if not waiting.count:
        return ""
    return gettext("Waiting for quiet hours to end: %(count)s, from %(time)s their time") % {
        "count": number_text(waiting.count),
        "time": campaign.window_start.strftime("%H:%M"),
    }


def capped_texts(capped: CappedDeliveries) -> tuple[str, str]:
    """'Deferred by frequency caps: 1,204, until 8 Dec, 12:00 at the latest' (in the staff
    member's zone) and 'Skipped by frequency caps: 12'; each '' when there are none."""
    deferred = skipped = ""
    if capped.deferred:
        deferred = gettext(
            "Deferred by frequency caps: %(count)s, until %(moment)s at the latest"
        ) % {
            "count": number_text(capped.deferred),
            "moment": local_time_text(capped.deferred_until),
        }
    if capped.skipped:
        skipped = gettext("Skipped by frequency caps: %(count)s") % {
            "count": number_text(capped.skipped)
        }
    return deferred, skipped


def _time_left(
    campaign: Campaign, progress: dict[str, int], activity: Activity
) -> tuple[dict, Waiting]:
    estimate = campaign_time_left_estimate(campaign=campaign, progress=progress)
    seconds = estimate.seconds
    if seconds and activity.state in (State.WAITING, State.HELD):
        # The estimate starts from the next turn; until then nothing goes out.
        seconds += activity.wait_seconds
    basis = ""
    if estimate.basis == "limit":
        limits = channel_limits(campaign.channel)
        if limits:
            basis = gettext("at the provider's limit of %(rate)s") % {"rate": rate_text(limits)}
    elif estimate.basis == "pace":
        basis = gettext("at the current pace of %(count)s/min") % {
            "count": number_text(round(estimate.per_minute))
        }
    eta = {
        "eta_seconds": seconds,
        "eta": duration_text(seconds) if seconds is not None else "",
        "eta_basis": basis,
    }
    return eta, estimate.waiting


LIVE_STATUSES = ("scheduled", "running")


def share_text(rate: Rate, label: str) -> str:
    """'40 % of reachable', to a tenth where that matters; '' when there is no share."""
    if rate.ratio is None:
        return ""
    percent = round(rate.ratio * 100, 1)
    shown = str(int(percent)) if percent.is_integer() else number_format(percent, 1)
    return gettext("%(percent)s %% %(label)s") % {"percent": shown, "label": label}


def campaign_live(campaign: Campaign) -> dict:
    """Progress as the page shows it and the JSON endpoint returns it: the counters, the bar,
    what is happening now, the rate over the last minute and the time left."""
    progress = campaign_progress(campaign_id=campaign.pk)
    left = progress["pending"] + progress["sending"]
    activity = campaign_activity(campaign=campaign, left=left)
    in_flight = activity.in_flight if activity.state in (State.SENDING, State.HELD) else 0
    running = campaign.status == Campaign.Status.RUNNING
    rate = campaign_recent_rate(campaign_id=campaign.pk) if running else 0.0
    summary = progress_summary(campaign.status, progress)
    text, alert, help_url = _state_sentence(campaign, activity)
    live = campaign.status in LIVE_STATUSES and (left or campaign.materialised_at is None)
    eta = {"eta_seconds": None, "eta": "", "eta_basis": ""}
    waiting = NOBODY_WAITS
    if live or campaign.status == Campaign.Status.PAUSED:
        eta, waiting = _time_left(campaign, progress, activity)
    if activity.state == State.RETRYING and waiting.count:
        # Not retries: those left wait for their window, which the quiet hours' line says.
        text = ""
    counts = {status: progress[status] for status in Delivery.Status.values}
    counts.update(in_flight=in_flight, waiting=left - in_flight)
    capped = campaign_capped(campaign_id=campaign.pk)
    capped_text, capped_skipped_text = capped_texts(capped)
    counts.update(capped_deferred=capped.deferred, capped_skipped=capped.skipped)
    return {
        "status": campaign.status,
        "status_label": campaign.get_status_display(),
        "state": str(activity.state),
        "state_text": text,
        "alert": alert,
        "help_url": help_url,
        "counts": counts,
        "total": progress["total"],
        "done": progress["done"],
        "left": left,
        "percent": summary.percent,
        "parts": summary.parts,
        "headline": summary.headline,
        "materialised": campaign.materialised_at is not None,
        "rate_per_minute": round(rate, 1),
        # The funnel's shares, refreshed with its counts.
        "rates": {
            status: share_text(share, RATE_LABELS[status])
            for status, share in delivery_rates(progress).items()
        },
        **eta,
        "quiet_hours_text": quiet_hours_text(campaign, waiting),
        "capped_text": capped_text,
        "capped_skipped_text": capped_skipped_text,
        "pause_reason": reason_text(campaign.pause_reason) if campaign.status == "paused" else "",
    }
