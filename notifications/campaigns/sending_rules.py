"""The site's sending rules: one row staff edit, read by everything that decides when to send.

`sending_rules` reads it (making it, from `settings.TIME_ZONE`, the first time); the admin's
page changes it through `sending_rules_save`. What a new campaign's window starts as, and the
zone of a recipient who has none, are read from here.
"""

from __future__ import annotations

from datetime import time, tzinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from notifications.campaigns.windows import SendWindow, send_window_errors, zone_named
from notifications.db.save import save_fields
from notifications.errors import InvalidInput
from notifications.models import SendingRules
from notifications.recipients.validators import clean_time_zone

# The one row's key: a singleton needs no lookup by anything else.
RULES_ID = 1
WINDOW_FIELDS = ("window_on", "window_start", "window_end", "window_days")


def sending_rules() -> SendingRules:
    """The site's rules, made the first time they are read: recipients in the site's zone, and
    the window `SEND_WINDOW_DEFAULT` says ("10:00-21:00", or "off")."""
    rules, _ = SendingRules.objects.get_or_create(pk=RULES_ID, defaults=_first_rules())
    return rules


def _first_rules() -> dict[str, Any]:
    first: dict[str, Any] = {"time_zone": settings.TIME_ZONE}
    if settings.SEND_WINDOW_DEFAULT == "off":
        return {**first, "window_on": False}
    start, end = (time.fromisoformat(edge) for edge in settings.SEND_WINDOW_DEFAULT.split("-"))
    return {**first, "window_on": True, "window_start": start, "window_end": end}


def sending_rules_errors(data: dict[str, Any], rules: SendingRules) -> dict[str, list[str]]:
    """What is wrong with `data` applied to `rules`, by field: a zone that is not one, or a
    window that is impossible."""
    errors: dict[str, list[str]] = {}
    if "time_zone" in data:
        try:
            clean_time_zone(data["time_zone"])
        except ValidationError as exc:
            errors["time_zone"] = list(exc.messages)
        if not (data["time_zone"] or "").strip():
            errors["time_zone"] = [gettext("Choose the zone of recipients who have none.")]
    errors.update(window_errors({**window_fields_of(rules), **data}))
    return errors


def sending_rules_save(*, data: dict[str, Any], user: Any = None) -> SendingRules:
    """Change the site's rules: only the fields in `data` are written. InvalidInput on the
    first field at fault."""
    with transaction.atomic():
        rules = SendingRules.objects.select_for_update().get(pk=sending_rules().pk)
        errors = sending_rules_errors(data, rules)
        if errors:
            field, messages = next(iter(errors.items()))
            raise InvalidInput(messages, field=field)
        if "time_zone" in data:
            data = {**data, "time_zone": data["time_zone"].strip()}
        save_fields(rules, {**data, "updated_by": user if getattr(user, "pk", None) else None})
    return rules


def window_errors(fields: dict[str, Any]) -> dict[str, list[str]]:
    """What makes the window in `fields` impossible, by field; checked on or off, as a window
    turned off is kept to be turned on again."""
    return send_window_errors(
        start=fields.get("window_start"),
        end=fields.get("window_end"),
        days=fields.get("window_days") or 0,
    )


def window_fields_of(holder: Any) -> dict[str, Any]:
    """The window fields of a campaign or of the site's rules, as `data` names them."""
    return {name: getattr(holder, name) for name in WINDOW_FIELDS}


def new_campaign_window() -> dict[str, Any]:
    """The window fields a new marketing campaign starts with: the site's default."""
    return window_fields_of(sending_rules())


def send_window_of(holder: Any) -> SendWindow | None:
    """The window a campaign (or the site's rules) sends in, or None when it is off."""
    if not holder.window_on:
        return None
    return SendWindow.of(holder.window_start, holder.window_end, holder.window_days)


def recipients_default_zone() -> tzinfo:
    """The zone of recipients who have none: the site's rule (its own default, the site's
    zone, should the stored name no longer be a zone)."""
    return zone_named(sending_rules().time_zone, timezone.get_default_timezone())
