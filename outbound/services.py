"""What staff and integrations do to endpoints and messages; the admin and the API call these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from notifications.errors import InvalidInput
from notifications.models import DeliveryEvent
from notifications.reasons import reason_encode

from .events import EVENT_TYPES
from .http import url_problem
from .models import Endpoint, Message
from .signing import new_secret


def endpoint_input_check(url: str, events: Iterable[str]) -> list[str]:
    """The event types, once the URL and they are fine; InvalidInput by field otherwise. The
    services call it, and the admin's form, to show the errors beside the fields."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(_("Enter a valid URL."), field="url") from None
    problem = url_problem(url)
    if problem:
        raise InvalidInput(problem, field="url")
    events = list(dict.fromkeys(events))
    unknown = [name for name in events if name not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            _("Unknown event type %(name)s; choose from %(choices)s.")
            % {"name": repr(unknown[0]), "choices": ", ".join(EVENT_TYPES)},
            field="events",
        )
    if not events:
        raise InvalidInput(_("Choose at least one event type."), field="events")
    return events


def endpoint_create(
    *, url: str, events: Iterable[str], description: str = "", user: Any = None
) -> Endpoint:
    """A new endpoint with a new secret; it receives events written from now on."""
    events = endpoint_input_check(url, events)
    last = DeliveryEvent.objects.aggregate(last=Max("id"))["last"] or 0
    return Endpoint.objects.create(
        url=url,
        events=events,
        description=description,
        secret=new_secret(),
        since_event_id=last,
        created_by=user if getattr(user, "pk", None) else None,
    )


def endpoint_update(*, endpoint: Endpoint, data: dict[str, Any]) -> Endpoint:
    """Change an endpoint's URL, events, description or whether it is active. Turning it on
    again clears why it was off: its waiting messages go out, oldest first."""
    url = data.get("url", endpoint.url)
    endpoint.events = endpoint_input_check(url, data.get("events", endpoint.events))
    endpoint.url = url
    endpoint.description = data.get("description", endpoint.description)
    if "is_active" in data and data["is_active"] != endpoint.is_active:
        endpoint.is_active = data["is_active"]
        if endpoint.is_active:
            endpoint.disabled_reason, endpoint.disabled_at = "", None
            endpoint.failing_since = None
        else:
            endpoint.disabled_reason = reason_encode("endpoint_turned_off")
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Remove an endpoint and its messages: nothing more is sent to it."""
    endpoint.delete()


def endpoint_secret_roll(*, endpoint: Endpoint) -> Endpoint:
    """A new secret: requests are signed with it from the next one on."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def messages_resend(*, message_ids: Iterable[int]) -> int:
    """Send these messages again as if new (delivered or failed ones too); how many. Each
    goes out before the later messages of its campaign still waiting."""
    with transaction.atomic():
        return Message.objects.filter(pk__in=list(message_ids)).update(
            status=Message.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            first_attempt_at=None,
            claimed_until=None,
            delivered_at=None,
        )
