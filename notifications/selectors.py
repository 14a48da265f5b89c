"""Read queries shared by admin pages, the API and services."""

from .models import RecipientAttribute


def recipient_attribute_names() -> set[str]:
    """Every attribute name a recipient has had: the variables templates may use."""
    return set(RecipientAttribute.objects.values_list("name", flat=True))
