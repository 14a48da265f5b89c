"""The events an endpoint can subscribe to, and how one is written in a request's body.

Names are the integrations' own (`delivery.sent`), each mapped to the history's type, so the
history can gain types without changing what integrations were promised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from notifications.models import DeliveryEvent
from notifications.reasons import reason_for_machines

T = DeliveryEvent.Type

# Name → (the history's type, what staff read beside the checkbox).
EVENT_TYPES: dict[str, tuple[str, Promise]] = {
    "campaign.status": (T.CAMPAIGN_STATUS, _("A campaign changes status (scheduled, running, …)")),
    "delivery.sent": (T.SENT, _("A message was accepted by the provider")),
    "delivery.failed": (T.FAILED, _("A message failed for good")),
    "delivery.retry_scheduled": (T.RETRY_SCHEDULED, _("A message failed and will be tried again")),
    "delivery.unknown": (T.UNKNOWN, _("A message's fate is unknown (the answer was lost)")),
    "sms.sent": (T.SMS_SENT, _("Sendios reports an SMS delivered")),
    "sms.lost": (T.SMS_LOST, _("Sendios reports an SMS lost")),
    "sms.click": (T.SMS_CLICK, _("Someone followed a link in an SMS")),
}
NAME_OF_TYPE = {history_type: name for name, (history_type, _label) in EVENT_TYPES.items()}
EVENT_CHOICES = [
    (name, format_lazy("{} — {}", name, label)) for name, (_type, label) in EVENT_TYPES.items()
]

# What the fan-out reads of each event: one query, joined once.
EVENT_FIELDS = (
    "id",
    "type",
    "occurred_at",
    "campaign_id",
    "campaign__name",
    "campaign__kind",
    "delivery_id",
    "recipient__external_id",
    "detail",
    "data",
    "sms_id",
    "link",
)

_encoder = DjangoJSONEncoder()


def _detail(stored: str) -> dict[str, Any]:
    said = reason_for_machines(stored)
    return {"detail": said["text"], "detail_code": said["code"], "detail_params": said["params"]}


def event_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """One event as integrations read it, from a row of `EVENT_FIELDS`."""
    campaign = None
    if row["campaign_id"] is not None:
        campaign = {
            "id": row["campaign_id"],
            "name": row["campaign__name"],
            "kind": row["campaign__kind"],
        }
    data = dict(row["data"] or {})
    if row["sms_id"] is not None:
        data["sms_id"] = row["sms_id"]
    if row["link"]:
        data["link"] = row["link"]
    return {
        "id": row["id"],
        "type": NAME_OF_TYPE[row["type"]],
        "occurred_at": _encoder.default(row["occurred_at"]),
        "campaign": campaign,
        "delivery_id": row["delivery_id"],
        "recipient": row["recipient__external_id"],
        # For machines: the reason's code and parameters, and its English text; a provider's
        # own words stay as they were (code null).
        **_detail(row["detail"]),
        "data": data,
    }
