"""Read queries shared by admin pages, the API and services."""

from .models import Delivery, DeliveryCounter, Recipient, RecipientAttribute


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
