"""The site's frequency caps as staff edit them: adding, changing, turning on and off, deleting.

The send path reads the active policies (`campaigns.caps`); here they are written, each save
checked: a limit of 1 to `MOST` messages, a period and a channel (or none, for all channels)
the model knows, and at most one policy per channel and period, since two would leave staff
guessing which one holds. A duplicate is refused beside `period`, naming the policy there is,
also when two people add the same one at once (the unique constraint's refusal, read back as
the same sentence). Who saved last is kept in `updated_by`.

A policy made, turned on or moved to another channel counts the messages that went out on its
channel in the past week (`caps.counted_sends_backfill`): the send path counts messages only
on channels some active policy covers.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from notifications.campaigns.caps import counted_sends_backfill
from notifications.db.save import save_fields
from notifications.errors import InvalidInput, NotFound
from notifications.models import Channel, FrequencyCap

# More than this a day or a week is no cap on a person's attention, and more likely a typo.
MOST = 1000
FIELDS = ("limit", "period", "channel", "active")


def frequency_cap_errors(
    data: dict[str, Any], *, cap_id: int | None, current: FrequencyCap | None = None
) -> dict[str, list[str]]:
    """What is wrong with `data` applied to `current` (None for a new policy), by field."""

    def value(name: str) -> Any:
        return data[name] if name in data else getattr(current, name, None)

    errors: dict[str, list[str]] = {}
    limit = value("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MOST:
        errors["limit"] = [
            gettext("Give a whole number of messages from 1 to %(most)s.") % {"most": MOST}
        ]
    if value("period") not in FrequencyCap.Period.values:
        errors["period"] = [gettext("Choose a rolling day or a rolling week.")]
    if (value("channel") or "") not in ("", *Channel.values):
        errors["channel"] = [gettext("Choose a channel, or none for all channels together.")]
    if "period" not in errors and "channel" not in errors:
        taken = _same_channel_and_period(value("channel") or "", value("period"), cap_id)
        if taken is not None:
            errors["period"] = [_duplicate_sentence(taken)]
    return errors


def frequency_cap_save(
    *, cap_id: int | None, data: dict[str, Any], user: Any = None
) -> FrequencyCap:
    """Add a policy (`cap_id` None) or change the fields of one that `data` names; InvalidInput
    on the first field at fault, NotFound when the policy is gone."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValueError(f"Not a frequency cap's field: {', '.join(sorted(unknown))}")
    data = {**data, "channel": data["channel"] or ""} if "channel" in data else data
    cap, counted_before = FrequencyCap(), None
    try:
        with transaction.atomic():
            if cap_id is not None:
                cap = _locked(cap_id)
                counted_before = cap.channel if cap.active else None
            errors = frequency_cap_errors(data, cap_id=cap_id, current=cap)
            if errors:
                field, messages = next(iter(errors.items()))
                raise InvalidInput(messages, field=field)
            save_fields(cap, {**data, "updated_by": user if getattr(user, "pk", None) else None})
    except IntegrityError:
        # Another person saved the same channel and period after the check above (`cap` holds
        # the values this save tried to write).
        taken = _same_channel_and_period(cap.channel, cap.period, cap_id)
        if taken is None:
            raise
        raise InvalidInput(_duplicate_sentence(taken), field="period") from None
    if cap.active and cap.channel != counted_before:
        # A policy that starts to hold on a channel counts what went out there before it,
        # once it is committed (also the admin's transaction around this): from then on every
        # sender reads it and counts its own messages, so only a start already under way at
        # that moment can be missed.
        channel = cap.channel
        transaction.on_commit(lambda: counted_sends_backfill(channel=channel))
    return cap


def frequency_cap_delete(*, cap_id: int) -> None:
    """Delete a policy; the messages it counted stay counted by the others."""
    with transaction.atomic():
        _locked(cap_id).delete()


def _locked(cap_id: int) -> FrequencyCap:
    try:
        return FrequencyCap.objects.select_for_update().get(pk=cap_id)
    except FrequencyCap.DoesNotExist:
        raise NotFound(gettext("This frequency cap no longer exists.")) from None


def _same_channel_and_period(
    channel: str, period: str | None, cap_id: int | None
) -> FrequencyCap | None:
    return FrequencyCap.objects.filter(channel=channel, period=period).exclude(pk=cap_id).first()


def _duplicate_sentence(taken: FrequencyCap) -> str:
    return gettext(
        "There is a cap on this channel and period already: %(cap)s. Change that one instead."
    ) % {"cap": taken.describe()}
