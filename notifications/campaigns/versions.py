"""A campaign's content versions, and what a retry of its failed deliveries would send.

The first version is frozen at dispatch; staff add one while the campaign is paused or before
a retry (`services.campaign_content_edit`). Deliveries keep the version they were tried with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from notifications.content.rendering import template_fields
from notifications.models import Campaign, CampaignContent, Delivery, MessageTemplate

# How a render failure's error starts (`sending.loop._render`): the message's own fault, which
# sending it again unchanged cannot mend.
RENDER_ERROR = "render_error"


def content_version_add(
    campaign: Campaign,
    content: Mapping[str, str],
    *,
    template: MessageTemplate | None = None,
    user: Any = None,
) -> CampaignContent:
    """Make `content` the campaign's next version, in the caller's transaction, holding the
    campaign's lock; the caller saves the campaign."""
    campaign.content = dict(content)
    campaign.content_version += 1
    return CampaignContent.objects.create(
        campaign=campaign,
        version=campaign.content_version,
        content=campaign.content,
        template=template,
        created_by=user if getattr(user, "pk", None) else None,
    )


# Tried before versions existed: no version, but a request or a render (a render failure
# makes no request). They went out with the first.
_TRIED_UNVERSIONED = Q(content_version__isnull=True) & (
    Q(attempts__gt=0)
    | Q(status__in=[Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.UNKNOWN])
)


def tried_with(version: int) -> Q:
    """Deliveries last tried with `version`."""
    if version <= 1:
        return Q(content_version=1) | _TRIED_UNVERSIONED
    return Q(content_version=version)


def versions_tried(campaign_id: int) -> dict[int, int]:
    """How many of the campaign's deliveries were last tried with each version, in one grouped
    query (the rule of `tried_with`)."""
    rows = (
        Delivery.objects.filter(campaign_id=campaign_id)
        .filter(Q(content_version__isnull=False) | _TRIED_UNVERSIONED)
        .annotate(tried=Coalesce("content_version", 1))
        .values("tried")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["tried"]: row["count"] for row in rows}


@dataclass(frozen=True)
class RetryOutlook:
    """What *Retry failed* would send: the current version, and how many of the failed were
    content errors of that very version (sending them again fails them again)."""

    version: int
    failed: int
    content_errors: int
    example_error: str
    template_changed: bool

    @property
    def will_fail_again(self) -> bool:
        return self.content_errors > 0


def campaign_retry_outlook(campaign: Campaign) -> RetryOutlook:
    """Counted in SQL over the campaign's failed deliveries: two counts on the (campaign,
    status) index, whatever the campaign's size."""
    failed = Delivery.objects.filter(campaign_id=campaign.pk, status=Delivery.Status.FAILED)
    same = failed.filter(tried_with(campaign.content_version), error__startswith=RENDER_ERROR)
    example = same.order_by("pk").values_list("error", flat=True).first() or ""
    return RetryOutlook(
        version=campaign.content_version,
        failed=failed.count(),
        content_errors=same.count() if example else 0,
        example_error=example.removeprefix(f"{RENDER_ERROR}: "),
        template_changed=template_differs(campaign),
    )


def template_differs(campaign: Campaign) -> bool:
    """Whether the campaign's template now says something other than the campaign sends."""
    if campaign.template is None or not campaign.content:
        return False
    return template_fields(campaign.template) != {
        name: campaign.content.get(name, "") for name in template_fields(campaign.template)
    }
