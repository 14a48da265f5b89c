"""Read queries shared by admin pages, the API and services."""

from .connections import build_provider
from .models import Delivery, DeliveryCounter, Recipient, RecipientAttribute
from .providers.base import ProviderError
from .rendering import CHANNEL_FIELDS, compile_template


def recipient_attribute_names() -> set[str]:
    """Every attribute name a recipient has had: the variables templates may use."""
    return set(RecipientAttribute.objects.values_list("name", flat=True))


def campaign_progress(*, campaign_id: int) -> dict[str, int]:
    """Deliveries of a campaign by status, plus `total` and `done`: a few rows at any size."""
    counts = dict.fromkeys(Delivery.Status.values, 0)
    for status, count in DeliveryCounter.objects.filter(campaign_id=campaign_id).values_list(
        "status", "count"
    ):
        counts[status] = count
    counts["total"] = sum(counts[status] for status in Delivery.Status.values)
    counts["done"] = counts["total"] - counts["pending"] - counts["sending"]
    return counts


def campaign_audience_size(*, campaign_id: int) -> int:
    """Distinct recipients in a campaign's audiences."""
    return Recipient.objects.filter(audiences__campaigns__id=campaign_id).distinct().count()


def send_eta_seconds(*, channel: str, content: dict[str, str], messages: int) -> float | None:
    """The least time `messages` deliveries take within the provider's limits, or None when
    the provider is not configured.

    Messages share a request up to the provider's batch size, except Imshop pushes that are
    personalised: Imshop carries one text per request, so each recipient needs their own.
    """
    if messages <= 0:
        return 0.0
    try:
        limits = build_provider(channel).limits
    except (ProviderError, ValueError):
        return None
    per_request = limits.batch_size
    if channel == "imshop":
        compiled = compile_template(content)
        if compiled.variables and any(content.get(f) for f in CHANNEL_FIELDS[channel]):
            per_request = 1
    requests = -(-messages // per_request)
    return limits.min_duration(requests).total_seconds()
