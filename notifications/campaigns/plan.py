"""The send plan: how many requests a campaign needs, and how long they take.

The people it reaches are counted and kept by `campaigns/people.py`. The estimate follows the
provider's declared limits and how the engine groups messages; a campaign's time left once it
is under way starts from it (`campaigns/time_left.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from notifications.campaigns.capped import (
    NOBODY_CAPPED,
    CapForecast,
    capped_of,
)
from notifications.campaigns.people import PEOPLE_COUNT_MAX_AGE, campaign_people_counts
from notifications.campaigns.quiet_hours import (
    NOBODY_WAITS,
    Waiting,
    recipients_outside_window,
    recipients_per_second,
    waiting_seconds,
)
from notifications.campaigns.selectors import (
    campaign_people,
)
from notifications.content.rendering import RECIPIENT_FIELDS, RenderError, compile_template
from notifications.models import Campaign, CappedAction, Delivery, Recipient
from notifications.providers.exceptions import ProviderError
from notifications.providers.limits import Limits
from notifications.providers.registry import (
    PROVIDERS,
    build_provider,
    channel_status,
    provider_class,
)
from notifications.recipients.selectors import reachable_recipients, variable_column


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
        return compile_template(content).variables_in(provider_class(channel).content_fields)
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
    values = {f"v{index}": variable_column(name) for index, name in enumerate(sorted(variables))}
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
    values = {f"v{index}": variable_column(name) for index, name in enumerate(names)}
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


def campaign_recipients_left(campaign: Campaign) -> QuerySet[Recipient]:
    """Who a campaign still has to send to: a draft's reachable people (by materialisation's
    rules, exclusions first), or the recipients of its deliveries that are pending or being
    sent."""
    if campaign.materialised_at is None:
        return reachable_recipients(
            campaign_people(campaign), campaign.channel, excluded=campaign.excluded_audiences.all()
        )
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


@dataclass(frozen=True)
class SendPlan:
    """What dispatching a draft would do: who is reached, who is skipped and why, how long.

    The people counts are those kept at `counted_at`. `eta_seconds` is the least time within
    the provider's limits; None when they are unknown.
    """

    channel: str
    people: int
    excluded: int
    opted_out: int
    no_address: int
    counted_at: datetime
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
    # The reachable outside their send window now, and when the first of them opens; the
    # ETA includes their wait.
    waiting: Waiting = NOBODY_WAITS
    # The reachable a frequency cap holds now (none when the campaign's caps are off or no
    # policy applies), and whether they are skipped (not reached) or deferred (the ETA
    # includes their wait).
    capped: CapForecast = NOBODY_CAPPED
    capped_skipped: bool = False

    @property
    def skipped_by_caps(self) -> int:
        return self.capped.count if self.capped_skipped else 0

    @property
    def reachable_people(self) -> int:
        """Those the audience reaches (the recipient list it links to counts them)."""
        return self.people - self.skipped

    @property
    def reachable(self) -> int:
        """Those a message goes to: the audience's reachable but those a cap skips."""
        return self.reachable_people - self.skipped_by_caps

    @property
    def skipped(self) -> int:
        """Those the audience itself skips: excluded, opted out, no address."""
        return self.excluded + self.opted_out + self.no_address


def campaign_send_plan(
    *,
    campaign: Campaign,
    content: Mapping[str, str],
    max_age: timedelta = PEOPLE_COUNT_MAX_AGE,
) -> SendPlan:
    """The send plan of a campaign's people on its channel, by materialisation's rules.

    The people counts are the kept ones when no older than `max_age`, else counted now
    (`campaign_people_counts`); the request estimate reads a bounded sample of the reachable
    (`requests_needed`), so a page with a million people stays fast. Those a frequency cap
    holds (counted with the people, `PeopleCounts.at_caps`) are deferred, and the ETA includes
    their wait, or skipped and not counted as reachable, as the campaign says.
    """
    counts = campaign_people_counts(campaign=campaign, max_age=max_age)
    configured, reason = channel_status(campaign.channel)
    limits = channel_limits(campaign.channel)
    now = timezone.now()
    capped = capped_of(campaign, counts.at_caps)
    capped_skipped = campaign.capped_action == CappedAction.SKIP
    reachable = max(0, counts.reachable - capped.count) if capped_skipped else counts.reachable
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
    waiting = recipients_outside_window(
        campaign=campaign, recipients=campaign_recipients_left(campaign), now=now
    )
    if eta is not None and waiting.count:
        eta = max(eta, waiting_seconds(waiting, recipients_per_second(limits), now))
    if eta is not None and capped.count and not capped_skipped:
        eta = max(eta, (capped.last_allowed - now).total_seconds())
    return SendPlan(
        channel=campaign.channel,
        people=counts.people,
        excluded=counts.excluded,
        opted_out=counts.opted_out,
        no_address=counts.no_address,
        counted_at=counts.counted_at,
        per_request=per_request,
        requests=requests,
        personalised_by=personalised_by,
        requests_with_one_text=shared,
        limits=limits,
        eta_seconds=eta,
        configured=configured,
        not_configured_reason=reason,
        waiting=waiting,
        capped=capped,
        capped_skipped=capped_skipped,
    )


# Recipients a draft page reads for the variables they lack: the first reachable ones in id
# order, the order deliveries are sent in. Counting a million for each variable took seconds.
MISSING_SAMPLE = 10_000


@dataclass(frozen=True)
class MissingVariable:
    """A template variable some of the reachable recipients read do not have: `recipients` of
    the first `read` in id order lack it (all of them, when fewer than the sample)."""

    name: str
    recipients: int
    read: int
    example: Recipient


def campaign_missing_variables(
    *, campaign: Campaign, content: Mapping[str, str], sample: int = MISSING_SAMPLE
) -> list[MissingVariable]:
    """Attribute variables of the message that reachable recipients lack, with how many of
    the first `sample` lack each. One query for the sample's size and two per variable the
    template uses (templates use a handful)."""
    try:
        variables = compile_template(content).variables
    except RenderError:  # a broken template is reported by the preflight instead
        return []
    names = sorted(set(variables) - set(RECIPIENT_FIELDS))
    if not names:
        return []
    reachable = campaign_recipients_left(campaign)
    # The sample as an id range: as a subquery with LIMIT, PostgreSQL scanned every recipient
    # for the missing key first (150 ms at a million).
    last = list(reachable.order_by("pk").values_list("pk", flat=True)[sample - 1 : sample])
    first = reachable.filter(pk__lte=last[0]) if last else reachable
    read = sample if last else first.count()
    missing = []
    for name in names:
        lacking = first.exclude(attributes__has_key=name)
        example = lacking.order_by("pk").first()
        if example is not None:
            missing.append(MissingVariable(name, lacking.count(), read, example))
    return missing


def campaign_sample_recipients(*, campaign: Campaign, limit: int = 3) -> list[Recipient]:
    """A few real recipients of the campaign to preview the message for, reachable ones
    first."""
    sample = list(campaign_recipients_left(campaign).order_by("pk")[:limit])
    if not sample:
        sample = list(campaign_people(campaign).order_by("pk")[:limit])
    return sample
