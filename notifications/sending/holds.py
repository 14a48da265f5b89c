"""What holds a claimed delivery back from its request: its recipient's send window (quiet
hours, checked when a claim is rendered) and frequency caps (checked as the request starts,
under the recipients' locks: `campaigns.caps.deliveries_start_capped`).

Neither is an attempt: a delivery held back goes back pending with `next_attempt_at` at the
moment it may go, in the claim's own release, or (a cap, when its campaign says so) is skipped
with the reason.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from django.utils import timezone

from notifications.campaigns.caps import CapCheck, deliveries_start_capped
from notifications.campaigns.plan import channel_limits
from notifications.campaigns.quiet_hours import recipients_per_second, spread_waits, zone_openings
from notifications.campaigns.sending_rules import recipients_default_zone, send_window_of
from notifications.campaigns.windows import SendWindow

from ..models import Campaign, CappedAction
from .claims import Claimed, deliveries_start
from .outcomes import deliveries_skip


@dataclass
class QuietHours:
    """What one run needs to hold those outside their send window: the window, the zone of
    recipients who have none, the provider's pace, and how many wait per opening so far."""

    window: SendWindow | None
    default_zone: tzinfo | None
    per_second: float | None
    held: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, campaign: Campaign) -> QuietHours:
        window = send_window_of(campaign)
        if window is None:
            return cls(None, None, None)
        return cls(
            window,
            recipients_default_zone(),
            recipients_per_second(channel_limits(campaign.channel)),
        )

    def waiting(self, claimed: Sequence[Claimed], zones: dict[int, str]) -> dict[int, datetime]:
        """The claimed deliveries outside their window now, and when each is due."""
        if self.window is None:
            return {}
        zone_of = {c.id: zones[c.recipient_id] for c in claimed}
        openings = zone_openings(
            self.window, zone_of.values(), timezone.now(), default=self.default_zone
        )
        return spread_waits(zone_of, openings, self.per_second, self.held)


@dataclass
class Deferred:
    """The deliveries of one claim a frequency cap defers: when each is due, and what it says."""

    due: dict[int, datetime] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)


def request_start(
    *,
    campaign: Campaign,
    caps: CapCheck | None,
    deferred: Deferred,
    token: uuid.UUID,
    ids: list[int],
    calls: int,
    recipients: dict[int, int],
    attempts: dict[int, int],
    outcomes: Counter,
) -> set[int]:
    """Begin the request for `ids`: the ids that may go. Those a frequency cap holds back are
    `deferred` (given back with the claim's release) or skipped now, counted in `outcomes`, as
    the campaign says."""
    if caps is None:
        return deliveries_start(
            campaign_id=campaign.pk,
            token=token,
            ids=ids,
            calls=calls,
            content_version=campaign.content_version,
        )
    started, held = deliveries_start_capped(
        check=caps,
        campaign_id=campaign.pk,
        token=token,
        ids=ids,
        recipients=recipients,
        calls=calls,
        content_version=campaign.content_version,
    )
    if held and caps.action == CappedAction.SKIP:
        outcomes.update(
            deliveries_skip(
                campaign_id=campaign.pk,
                token=token,
                reasons={pk: caps.reason(verdict) for pk, verdict in held.items()},
                recipients=recipients,
                attempts=attempts,
            )
        )
    elif held:
        for pk, verdict in held.items():
            deferred.due[pk] = verdict.allowed_at
            deferred.reasons[pk] = caps.reason(verdict)
    return started
