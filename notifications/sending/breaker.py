"""The circuit breaker: a campaign pauses after too many requests in a row fail as a whole."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Case, F, Value, When

from notifications.providers.values import BatchOutcome, ResultStatus
from notifications.reasons import reason_encode

from ..models import Campaign


def last_error(outcome: BatchOutcome) -> str:
    """The first error an answer carries, for the reason a campaign pauses."""
    for result in outcome.results:
        if result.code or result.message:
            return ": ".join(p for p in (result.code, result.message) if p)
    return reason_encode("no_detail")


def breaker_trips(campaign_id: int, outcome: BatchOutcome, throttled: bool) -> bool:
    """Count requests that failed as a whole; any other answer resets the count.

    A request fails as a whole when nothing in it was sent and either every message is to be
    retried or unknown (a timeout, a 5xx: counted whatever it says), or every message failed
    with one and the same error that is not about a recipient: one answer for the whole
    request, or one error shared by every message of a larger one. Permanent failures count
    on only while each repeats the error before it: the same refusal for request after
    request is about the campaign or the configuration and must not burn the whole audience,
    while recipients' own refusals (a chat that is gone), however many in a row, are not.
    """
    if throttled:
        return False
    statuses = {r.status for r in outcome.results}
    campaigns = Campaign.objects.filter(pk=campaign_id)
    if statuses <= {ResultStatus.RETRY, ResultStatus.UNKNOWN}:
        campaigns.update(consecutive_failures=F("consecutive_failures") + 1)
    elif (
        statuses == {ResultStatus.FAILED}
        and (outcome.whole_request or len(outcome.results) > 1)
        and len({(r.code, r.message) for r in outcome.results}) == 1
    ):
        error = last_error(outcome)
        campaigns.update(
            consecutive_failures=Case(
                When(last_failure=error, then=F("consecutive_failures") + 1), default=Value(1)
            ),
            last_failure=error,
        )
    else:
        campaigns.exclude(consecutive_failures=0).update(consecutive_failures=0)
        return False
    count = campaigns.values_list("consecutive_failures", flat=True).first() or 0
    return count >= settings.VESTNIK_BREAKER_THRESHOLD
