"""A campaign's move wakes the pump, so integrations hear of it in seconds, not at the next
scheduled run. The send loop's outcomes need no wake: the pump started by the campaign's move
to running stays while they come."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from notifications.models import DeliveryEvent

# One wake per this many seconds per process is enough: a pump stays while work comes.
WAKE_EVERY_SECONDS = 5


@receiver(post_save, sender=DeliveryEvent, dispatch_uid="outbound-wake")
def wake_on_campaign_move(sender: type, instance: DeliveryEvent, created: bool, **kwargs) -> None:
    if not created or instance.type != DeliveryEvent.Type.CAMPAIGN_STATUS:
        return
    from .models import Endpoint
    from .tasks import wake

    if (
        cache.add("outbound-wake", 1, WAKE_EVERY_SECONDS)
        and Endpoint.objects.filter(is_active=True).exists()
    ):
        transaction.on_commit(wake)
