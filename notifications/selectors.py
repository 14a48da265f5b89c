"""Read queries shared by admin pages, the API and services.

Pages that must stay fast on campaigns of a million deliveries read the per-status counters
(`DeliveryCounter`) instead of counting deliveries, and aggregate events in one grouped query
over the `(campaign, occurred_at)` index.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Count, F, FilteredRelation, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Substr, Trunc
from django.utils import timezone

from .connections import build_provider, channel_status
from .models import (
    AudienceMember,
    Campaign,
    Channel,
    Delivery,
    DeliveryCounter,
    DeliveryEvent,
    ProviderQuota,
    Recipient,
    RecipientAttribute,
)
from .providers.base import Limits, ProviderError
from .providers.registry import PROVIDERS
from .rendering import CHANNEL_FIELDS, RECIPIENT_FIELDS, RenderError, compile_template


def recipient_attribute_names() -> set[str]:
    """Every attribute name a recipient has had: the variables templates may use."""
    return set(RecipientAttribute.objects.values_list("name", flat=True))


def _progress_from(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    counts = dict.fromkeys(Delivery.Status.values, 0)
    for status, count in rows:
        counts[status] = count
    counts["total"] = sum(counts[status] for status in Delivery.Status.values)
    counts["done"] = counts["total"] - counts["pending"] - counts["sending"]
    return counts


def campaign_progress(*, campaign_id: int) -> dict[str, int]:
    """Deliveries of a campaign by status, plus `total` and `done`: a few rows at any size."""
    return _progress_from(
        DeliveryCounter.objects.filter(campaign_id=campaign_id).values_list("status", "count")
    )


def campaigns_progress(*, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`campaign_progress` for many campaigns (a page of the list) in one query."""
    rows: dict[int, list[tuple[str, int]]] = defaultdict(list)
    ids = list(campaign_ids)
    for campaign_id, status, count in DeliveryCounter.objects.filter(
        campaign_id__in=ids
    ).values_list("campaign_id", "status", "count"):
        rows[campaign_id].append((status, count))
    return {campaign_id: _progress_from(rows[campaign_id]) for campaign_id in ids}


def campaigns_audience_sizes(*, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Members of each campaign's audiences, for many campaigns in one query.

    For a list page: a person in two audiences of one campaign counts twice here, which saves
    the sort that counting distinct people needs (half a second at a million members). The
    campaign page's send plan counts each person once.
    """
    sizes = dict.fromkeys(campaign_ids, 0)
    sizes.update(
        AudienceMember.objects.filter(audience__campaigns__in=list(sizes))
        .values("audience__campaigns")
        .annotate(n=Count("*"))
        .values_list("audience__campaigns", "n")
    )
    return sizes


def campaigns_sms_clicks(*, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Distinct SMS clicked per campaign (one grouped query over the (campaign, type) index)."""
    ids = list(campaign_ids)
    clicks = dict.fromkeys(ids, 0)
    clicks.update(
        DeliveryEvent.objects.filter(
            campaign_id__in=ids, type=DeliveryEvent.Type.SMS_CLICK, sms_id__isnull=False
        )
        .values("campaign_id")
        .annotate(n=Count("sms_id", distinct=True))
        .values_list("campaign_id", "n")
    )
    return clicks


def channel_limits(channel: str) -> Limits | None:
    """The limits campaigns on `channel` are sent within (settings applied), or None when the
    limit settings themselves are invalid."""
    try:
        return PROVIDERS[channel].limits_from_settings()
    except ProviderError:
        return None


def personalising_variables(*, channel: str, content: Mapping[str, str]) -> set[str]:
    """The variables of what `channel` sends: what makes one recipient's text differ from
    another's (empty for a template that does not compile: the preflight reports that)."""
    try:
        return compile_template(content).variables_in(CHANNEL_FIELDS[channel])
    except RenderError:
        return set()


# Batches of recipients whose texts are counted; beyond them the count is scaled, so the
# estimate reads at most this many batches however large the audience (a million recipients
# counted whole took seconds).
ESTIMATE_SAMPLE_BATCHES = 10


def requests_needed(
    *,
    channel: str,
    content: Mapping[str, str],
    limits: Limits,
    messages: int,
    recipients: QuerySet[Recipient] | None = None,
) -> int:
    """How many requests `messages` deliveries to `recipients` take on `channel`.

    Messages share a request up to the provider's batch size. Where a request carries one text
    (Imshop), only messages that render the same share one: the engine claims deliveries in
    recipient order a batch at a time and groups each claim by text, so the count is the number
    of distinct values of the variables the sent fields use within each batch of recipients.
    One SQL query counts them over the first `ESTIMATE_SAMPLE_BATCHES` batches (exact up to
    there) and scales the average to the rest. Without the recipients, each personalised
    message counts as its own request.
    """
    if messages <= 0:
        return 0
    batch = limits.batch_size
    batches = -(-messages // batch)
    if not PROVIDERS[channel].one_text_per_request:
        return batches
    variables = personalising_variables(channel=channel, content=content)
    if not variables:
        return batches
    if recipients is None:
        return messages
    sampled = ESTIMATE_SAMPLE_BATCHES * batch
    texts, counted = _distinct_texts_per_batch(recipients, variables, batch, limit=sampled)
    if counted < sampled or messages <= counted:
        return max(batches, texts)
    per_batch = texts / ESTIMATE_SAMPLE_BATCHES
    return min(messages, max(batches, round(per_batch * messages / batch)))


def _distinct_texts_per_batch(
    recipients: QuerySet[Recipient], variables: set[str], batch_size: int, *, limit: int
) -> tuple[int, int]:
    """Distinct (batch, values of `variables`) among the first `limit` of `recipients` in id
    order, and how many recipients that read.

    Text comparison of the values is what the render compares.
    """
    values = {f"v{index}": _variable(name) for index, name in enumerate(sorted(variables))}
    first = recipients.order_by("id").annotate(**values).values("id", *values)[:limit]
    sql, params = first.query.sql_with_params()
    columns = ", ".join(values)  # our own aliases; every value travels as a parameter
    query = (
        "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM ("  # noqa: S608
        f"SELECT {columns}, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS batch "
        f"FROM ({sql}) first_recipients) numbered GROUP BY batch, {columns}) batch_texts"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [batch_size, *params])
        return cursor.fetchone()


def varying_variables(
    recipients: QuerySet[Recipient], variables: set[str], *, limit: int
) -> tuple[str, ...]:
    """Those of `variables` that differ among the first `limit` of `recipients` in id order (the
    rows the estimate counts), by name: what makes their texts differ. One query."""
    names = sorted(variables)
    values = {f"v{index}": _variable(name) for index, name in enumerate(names)}
    first = recipients.order_by("id").annotate(**values).values(*values)[:limit]
    sql, params = first.query.sql_with_params()
    # Distinct values, and one more where some recipient has none: that renders apart too.
    columns = ", ".join(
        f"COUNT(DISTINCT {column}) + MAX(CASE WHEN {column} IS NULL THEN 1 ELSE 0 END)"
        for column in values
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM ({sql}) first_recipients", params)  # noqa: S608
        distinct = cursor.fetchone()
    return tuple(name for name, count in zip(names, distinct, strict=True) if (count or 0) > 1)


def _variable(name: str) -> F | KT:
    """A template variable as a column: the recipient's own field of that name, else the
    attribute (as `recipient_context` resolves it)."""
    return F(name) if name in RECIPIENT_FIELDS else KT(f"attributes__{name}")


def reachable_recipients(recipients: QuerySet[Recipient], channel: str) -> QuerySet[Recipient]:
    """Those of `recipients` a campaign on `channel` sends to: not opted out, with an address
    on the channel (Imshop addresses default to the recipient's own external_id)."""
    reachable = recipients.filter(opted_out_at__isnull=True)
    if channel != Channel.IMSHOP:
        reachable = reachable.filter(addresses__channel=channel)
    return reachable


def campaign_recipients_left(campaign: Campaign) -> QuerySet[Recipient]:
    """Who a campaign still has to send to: a draft's reachable audience, or the recipients of
    its deliveries that are pending or being sent."""
    if campaign.materialised_at is None:
        members = AudienceMember.objects.filter(audience__campaigns=campaign.pk)
        people = Recipient.objects.filter(pk__in=members.values("recipient_id"))
        return reachable_recipients(people, campaign.channel)
    open_deliveries = Delivery.objects.filter(
        campaign=campaign.pk, status__in=(Delivery.Status.PENDING, Delivery.Status.SENDING)
    )
    return Recipient.objects.filter(pk__in=open_deliveries.values("recipient_id"))


ESTIMATE_CACHE_SECONDS = 60


def send_eta_seconds(
    *,
    channel: str,
    content: Mapping[str, str],
    messages: int,
    campaign: Campaign | None = None,
) -> float | None:
    """The least time `messages` deliveries take within the provider's limits, or None when
    the provider is not configured.

    With `campaign`, requests are counted on who it still has to send to (see
    `requests_needed`). Once it is dispatched, the count is kept for a minute per campaign and
    scaled to the deliveries left: pages poll progress every few seconds, and the count reads
    the campaign's open deliveries.
    """
    if messages <= 0:
        return 0.0
    try:
        limits = build_provider(channel).limits
    except (ProviderError, ValueError):
        return None
    count = partial(requests_needed, channel=channel, content=content, limits=limits)
    if campaign is None:
        requests = count(messages=messages)
    elif campaign.materialised_at is None:  # a draft's content may change at any moment
        requests = count(messages=messages, recipients=campaign_recipients_left(campaign))
    else:
        key = f"vestnik:requests-per-message:{campaign.pk}"
        counted = cache.get(key)
        if counted is None:
            counted = (
                count(messages=messages, recipients=campaign_recipients_left(campaign)),
                messages,
            )
            cache.set(key, counted, ESTIMATE_CACHE_SECONDS)
        counted_requests, counted_messages = counted
        batches = -(-messages // limits.batch_size)
        requests = max(batches, round(counted_requests * messages / counted_messages))
    return limits.min_duration(requests).total_seconds()


# --- The campaign desk --------------------------------------------------------------------


@dataclass(frozen=True)
class SendPlan:
    """What dispatching a draft would do: who is reached, who is skipped and why, how long.

    `eta_seconds` is the least time within the provider's limits; None when they are unknown.
    """

    channel: str
    audience: int
    opted_out: int
    no_address: int
    per_request: int
    requests: int
    # Where personalisation multiplies requests (Imshop): the variables that do it, and the
    # requests the same reachable people would take with one text for all.
    personalised_by: tuple[str, ...]
    requests_with_one_text: int
    limits: Limits | None
    eta_seconds: float | None
    configured: bool
    not_configured_reason: str

    @property
    def reachable(self) -> int:
        return self.audience - self.opted_out - self.no_address


def campaign_send_plan(*, campaign: Campaign, content: Mapping[str, str]) -> SendPlan:
    """The send plan of a campaign's audience on its channel: one aggregate query.

    The same rules as materialisation: opted-out recipients and those without an address on the
    channel are skipped (Imshop addresses default to the recipient's own external_id). The
    channel's address is a LEFT JOIN on (recipient, channel), unique, so each person is one row
    (a second query over the addresses took 1.6 s of 2.7 at a million members).
    """
    members = AudienceMember.objects.filter(audience__campaigns=campaign.pk).values("recipient_id")
    people = Recipient.objects.filter(pk__in=members).annotate(
        channel_address=FilteredRelation(
            "addresses", condition=Q(addresses__channel=campaign.channel)
        )
    )
    counts = people.aggregate(
        audience=Count("pk"),
        opted_out=Count("pk", filter=Q(opted_out_at__isnull=False)),
        with_address=Count("channel_address", filter=Q(opted_out_at__isnull=True)),
    )
    no_address = 0
    if campaign.channel != Channel.IMSHOP:
        no_address = counts["audience"] - counts["opted_out"] - counts["with_address"]
    configured, reason = channel_status(campaign.channel)
    limits = channel_limits(campaign.channel)
    reachable = counts["audience"] - counts["opted_out"] - no_address
    per_request, requests, shared, eta = 1, reachable, reachable, None
    personalised_by: tuple[str, ...] = ()
    if limits is not None:
        per_request = limits.batch_size
        shared = -(-reachable // per_request)
        requests = requests_needed(
            channel=campaign.channel,
            content=content,
            limits=limits,
            messages=reachable,
            recipients=campaign_recipients_left(campaign),
        )
        if requests > shared:
            personalised_by = varying_variables(
                campaign_recipients_left(campaign),
                personalising_variables(channel=campaign.channel, content=content),
                limit=ESTIMATE_SAMPLE_BATCHES * limits.batch_size,
            )
        eta = limits.min_duration(requests).total_seconds() if requests else 0.0
    return SendPlan(
        channel=campaign.channel,
        audience=counts["audience"],
        opted_out=counts["opted_out"],
        no_address=no_address,
        per_request=per_request,
        requests=requests,
        personalised_by=personalised_by,
        requests_with_one_text=shared,
        limits=limits,
        eta_seconds=eta,
        configured=configured,
        not_configured_reason=reason,
    )


@dataclass(frozen=True)
class MissingVariable:
    """A template variable some recipients of the audience do not have."""

    name: str
    recipients: int
    example: Recipient


def campaign_missing_variables(
    *, campaign: Campaign, content: Mapping[str, str]
) -> list[MissingVariable]:
    """Attribute variables of the message that recipients of the audience lack, with how many.

    One count per variable the template uses (templates use a handful).
    """
    try:
        variables = compile_template(content).variables
    except RenderError:  # a broken template is reported by the preflight instead
        return []
    members = AudienceMember.objects.filter(audience__campaigns=campaign.pk).values("recipient_id")
    missing = []
    for name in sorted(set(variables) - set(RECIPIENT_FIELDS)):
        lacking = Recipient.objects.filter(pk__in=members).exclude(attributes__has_key=name)
        example = lacking.order_by("pk").first()
        if example is not None:
            missing.append(MissingVariable(name, lacking.count(), example))
    return missing


def campaign_sample_recipients(*, campaign: Campaign, limit: int = 3) -> list[Recipient]:
    """A few real recipients of the audience to preview the message for, reachable ones first."""
    members = AudienceMember.objects.filter(audience__campaigns=campaign.pk).values("recipient_id")
    recipients = reachable_recipients(Recipient.objects.filter(pk__in=members), campaign.channel)
    sample = list(recipients.order_by("pk")[:limit])
    if not sample:
        sample = list(Recipient.objects.filter(pk__in=members).order_by("pk")[:limit])
    return sample


OUTCOME_EVENTS = (DeliveryEvent.Type.SENT, DeliveryEvent.Type.FAILED, DeliveryEvent.Type.UNKNOWN)
RATE_WINDOW_SECONDS = 60


def campaign_recent_rate(*, campaign_id: int, now: datetime | None = None) -> float:
    """Deliveries resolved (sent, failed or unknown) per minute over the last minute.

    A range scan of the (campaign, occurred_at) index: at most a minute of events.
    """
    now = now or timezone.now()
    resolved = DeliveryEvent.objects.filter(
        campaign_id=campaign_id,
        occurred_at__gt=now - timedelta(seconds=RATE_WINDOW_SECONDS),
        occurred_at__lte=now,
        type__in=OUTCOME_EVENTS,
    ).count()
    return resolved * 60 / RATE_WINDOW_SECONDS


TIMELINE_TYPES = (
    *OUTCOME_EVENTS,
    DeliveryEvent.Type.SMS_SENT,
    DeliveryEvent.Type.SMS_LOST,
    DeliveryEvent.Type.SMS_CLICK,
)


@dataclass(frozen=True)
class Timeline:
    """Events of a campaign per time bucket: `counts[bucket_start][type]`."""

    unit: str
    buckets: list[datetime]
    counts: dict[datetime, dict[str, int]]

    def series(self, event_type: str) -> list[int]:
        return [self.counts.get(bucket, {}).get(event_type, 0) for bucket in self.buckets]


def timeline_unit(start: datetime, end: datetime) -> str:
    """Minutes for a campaign of up to three hours, hours up to a week, else days."""
    span = end - start
    if span <= timedelta(hours=3):
        return "minute"
    if span <= timedelta(days=7):
        return "hour"
    return "day"


_UNIT_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def campaign_timeline(*, campaign: Campaign, now: datetime | None = None) -> Timeline | None:
    """Sends and SMS events per minute, hour or day: one grouped query, None without events.

    The span comes from the campaign's own times, so the unit is chosen before the query.
    """
    now = now or timezone.now()
    start = campaign.started_at or campaign.dispatched_at or campaign.created_at
    end = campaign.finished_at or now
    unit = timeline_unit(start, max(start, end))
    rows = (
        DeliveryEvent.objects.filter(campaign_id=campaign.pk, type__in=TIMELINE_TYPES)
        .annotate(bucket=_bucket("occurred_at", unit))
        .values("bucket", "type")
        .annotate(n=Count("*"))
        .values_list("bucket", "type", "n")
        .order_by()
    )
    counts: dict[datetime, dict[str, int]] = defaultdict(dict)
    for bucket, event_type, n in rows:
        counts[_bucket_start(bucket, unit)][event_type] = n
    if not counts:
        return None
    step = _UNIT_STEP[unit]
    first, last = min(counts), max(counts)
    buckets, bucket = [], first
    # Empty buckets between the first and the last event are drawn as gaps, not skipped.
    while bucket <= last and len(buckets) < MAX_TIMELINE_BUCKETS:
        buckets.append(bucket)
        bucket += step
    return Timeline(unit=unit, buckets=buckets, counts=dict(counts))


MAX_TIMELINE_BUCKETS = 400
# SQLite stores times as UTC text ("2026-11-23 23:27:13.123456"): a prefix is the bucket.
_SQLITE_PREFIX = {"minute": 16, "hour": 13, "day": 10}


def _bucket(field: str, unit: str):
    """The SQL for `field` truncated to `unit`. On SQLite, Django's Trunc calls a Python
    function for every row (12 s at a million events): a prefix of the stored text is the same
    bucket, in UTC, computed by SQLite itself."""
    if connection.vendor == "sqlite" and settings.TIME_ZONE == "UTC":
        return Substr(field, 1, _SQLITE_PREFIX[unit], output_field=CharField())
    return Trunc(field, unit)


def _bucket_start(bucket: datetime | str, unit: str) -> datetime:
    if isinstance(bucket, datetime):
        return bucket
    text = {"minute": bucket + ":00", "hour": bucket + ":00:00", "day": bucket + " 00:00:00"}
    return datetime.fromisoformat(text[unit]).replace(tzinfo=UTC)


# --- Providers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderOverview:
    """What staff see of one provider: never a secret."""

    channel: str
    label: str
    configured: bool
    reason: str
    account: str
    limits: Limits | None
    requests_available_now: int | None
    next_request_in: float | None
    hold_seconds_left: float | None
    hold_reason: str
    in_flight: int | None
    reported_quota: ProviderQuota | None
    last_error: str
    last_error_at: datetime | None
    last_error_campaign: Campaign | None


def providers_overview() -> list[ProviderOverview]:
    """Every channel's configuration, limits, the shared limiter's state and the last error."""
    from .sending.limiter import Rule, get_limiter

    limiter = get_limiter()
    quotas = {quota.key: quota for quota in ProviderQuota.objects.all()}
    overview = []
    for channel in Channel:
        configured, reason = channel_status(channel)
        limits = channel_limits(channel)
        account, available, next_in, hold_left, hold_reason, in_flight = (
            "",
            None,
            None,
            None,
            "",
            None,
        )
        try:
            provider = build_provider(channel)
        except (ProviderError, ValueError):
            provider = None
        if provider is not None and limits is not None:
            account = provider.account
            state = limiter.state(f"{channel}:{provider.account}")
            now = time.time()
            rule = Rule.from_limits(limits)
            backlog = max(0.0, state.next_start - now)
            # GCRA: the bucket holds `burst` requests and drains one per interval.
            available = max(0, min(limits.burst, limits.burst - int(-(-backlog // rule.interval))))
            next_in = max(0.0, state.next_start - (limits.burst - 1) * rule.interval - now)
            if state.hold_until > now:
                hold_left, hold_reason = state.hold_until - now, state.hold_reason
                available, next_in = 0, max(next_in, hold_left)
            in_flight = state.in_flight
        error, error_at, error_campaign = _last_error(channel)
        overview.append(
            ProviderOverview(
                channel=channel,
                label=Channel(channel).label,
                configured=configured,
                reason=reason,
                account=account,
                limits=limits,
                requests_available_now=available,
                next_request_in=next_in,
                hold_seconds_left=hold_left,
                hold_reason=hold_reason,
                in_flight=in_flight,
                reported_quota=quotas.get(f"{channel}:{account}") if account else None,
                last_error=error,
                last_error_at=error_at,
                last_error_campaign=error_campaign,
            )
        )
    return overview


LAST_ERROR_CAMPAIGNS = 5


def _last_error(channel: str) -> tuple[str, datetime | None, Campaign | None]:
    """The newest provider error on `channel`: a failed or unknown delivery event of one of its
    latest campaigns that have any (known from the counters), or a pause by the system."""
    recent = list(
        Campaign.objects.filter(channel=channel, started_at__isnull=False).order_by("-started_at")[
            :LAST_ERROR_CAMPAIGNS
        ]
    )
    troubled = set(
        DeliveryCounter.objects.filter(
            campaign__in=recent, status__in=["failed", "unknown"], count__gt=0
        ).values_list("campaign_id", flat=True)
    )
    best: tuple[str, datetime | None, Campaign | None] = ("", None, None)
    for campaign in recent:
        if (
            campaign.status == Campaign.Status.PAUSED
            and campaign.pause_reason
            and (not campaign.pause_reason.startswith("Paused"))
        ):
            candidate = (campaign.pause_reason, campaign.updated_at, campaign)
            if best[1] is None or candidate[1] > best[1]:
                best = candidate
        if campaign.pk in troubled:
            event = (
                DeliveryEvent.objects.filter(
                    campaign_id=campaign.pk, type__in=["failed", "unknown"]
                )
                .exclude(detail="")
                .order_by("-occurred_at")
                .first()
            )
            if event is not None and (best[1] is None or event.occurred_at > best[1]):
                best = (f"{event.type}: {event.detail}", event.occurred_at, campaign)
    return best
