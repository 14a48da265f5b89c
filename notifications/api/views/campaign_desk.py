"""The campaign desk's moves on a campaign: content versions and the retry outlook, copies,
rescheduling and unscheduling, and test sends with what they sent.

Each calls the service the admin's buttons call, so a version saved here is the one the next
retry sends from either place.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.campaigns.direct import campaign_send_test
from notifications.campaigns.services import (
    campaign_content_edit,
    campaign_copy,
    campaign_reschedule,
    campaign_unschedule,
)
from notifications.campaigns.versions import campaign_retry_outlook, versions_tried
from notifications.content.rendering import template_fields
from notifications.recipients.seeds import seed_recipients

from ...models import Campaign, Delivery
from ..idempotency import IDEMPOTENCY_KEY, idempotent_response
from ..serializers.base import EmptySerializer
from ..serializers.campaign_desk import (
    ContentEditSerializer,
    ContentVersionSerializer,
    CopyAnswerSerializer,
    RescheduleSerializer,
    RetryOutlookSerializer,
    SendTestSerializer,
    TestSendSerializer,
)
from ..serializers.campaigns import CampaignSerializer


class CampaignDeskActions:
    """Actions of `CampaignViewSet` for the campaign desk; their permissions are declared there
    with the other moves'."""

    @extend_schema(responses=ContentVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str) -> Response:
        """The campaign's content versions, newest first, by cursor pages, each with how many
        deliveries were last tried with it."""
        campaign = self.get_object()
        page = self.paginate_queryset(campaign.versions.select_related("created_by"))
        tried = versions_tried(campaign.pk)
        for version in page:
            version.deliveries = tried.get(version.version, 0)
        return self.get_paginated_response(ContentVersionSerializer(page, many=True).data)

    @extend_schema(
        request=ContentEditSerializer,
        responses={201: ContentVersionSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    def content(self, request: Request, pk: str) -> Response:
        """Save a new version of the message while the campaign is paused or completed: what
        is sent from now on, and what *Retry failed* sends. Checked as a draft's message."""
        campaign = self.get_object()

        def edit() -> tuple[int, Any]:
            ask = ContentEditSerializer(data=request.data)
            ask.is_valid(raise_exception=True)
            fields = dict(ask.validated_data)
            template = fields.pop("template", None)
            edited = campaign_content_edit(
                campaign_id=campaign.pk,
                content=template_fields(template) if template is not None else fields,
                template=template,
                user=request.user,
            )
            version = edited.versions.select_related("created_by").get(
                version=edited.content_version
            )
            version.deliveries = 0
            return status.HTTP_201_CREATED, ContentVersionSerializer(version).data

        return idempotent_response(request, edit)

    @extend_schema(responses=RetryOutlookSerializer)
    @action(detail=True, methods=["get"], url_path="retry-outlook")
    def retry_outlook(self, request: Request, pk: str) -> Response:
        """What *Retry failed* would send now, and whether the failures were content errors of
        that very version (then edit the content first: they would fail again)."""
        outlook = campaign_retry_outlook(self.get_object())
        return Response(
            RetryOutlookSerializer(
                {**outlook.__dict__, "will_fail_again": outlook.will_fail_again}
            ).data
        )

    @extend_schema(
        request=EmptySerializer,
        responses={201: CopyAnswerSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str) -> Response:
        """A new draft with the campaign's channel, current message, audiences and exclusions;
        a new template holds the message when the campaign's template no longer says it."""
        campaign = self.get_object()

        def make_copy() -> tuple[int, Any]:
            self.no_body(request)
            draft, new_template = campaign_copy(campaign_id=campaign.pk, user=request.user)
            draft = self.get_queryset().get(pk=draft.pk)
            return status.HTTP_201_CREATED, {
                "campaign": CampaignSerializer(draft).data,
                "new_template": new_template.pk if new_template else None,
            }

        return idempotent_response(request, make_copy)

    @extend_schema(request=RescheduleSerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        """Move a scheduled campaign's start to another time in the future; a time without an
        offset is read in the site's time zone."""
        campaign = self.get_object()
        ask = RescheduleSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        campaign_reschedule(
            campaign_id=campaign.pk,
            scheduled_at=ask.validated_data["scheduled_at"],
            user=request.user,
        )
        return self._answer(campaign.pk)

    @extend_schema(request=EmptySerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def unschedule(self, request: Request, pk: str) -> Response:
        """Take a scheduled campaign back to a draft, to be edited and dispatched again."""
        return self._transition(request, campaign_unschedule)

    @extend_schema(
        request=SendTestSerializer,
        responses={201: TestSendSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"], url_path="send-test")
    def send_test(self, request: Request, pk: str) -> Response:
        """Send the campaign's message now to a few people, as a test send kept under the
        campaign: by external_id, by recipient id, and to the test lists (`seed`)."""
        campaign = self.get_object()

        def send() -> tuple[int, Any]:
            ask = SendTestSerializer(data=request.data)
            ask.is_valid(raise_exception=True)
            ids = set(ask.validated_data.get("recipient_ids", []))
            if ask.validated_data["seed"]:
                # An API key has no user, so `seed_recipients` gives the shared list alone.
                seeds = set(seed_recipients(request.user).values_list("pk", flat=True))
                if not seeds:
                    raise serializers.ValidationError(
                        {
                            "seed": [
                                _("The test lists are empty: add people at /api/test-recipients/.")
                            ]
                        }
                    )
                ids |= seeds
            test = campaign_send_test(
                campaign_id=campaign.pk,
                external_ids=ask.validated_data.get("recipients", []),
                recipient_ids=sorted(ids),
                user=request.user,
            )
            return status.HTTP_201_CREATED, TestSendSerializer(_with_deliveries(test.pk)).data

        return idempotent_response(request, send)

    @extend_schema(responses=TestSendSerializer(many=True))
    @action(detail=True, methods=["get"])
    def tests(self, request: Request, pk: str) -> Response:
        """The campaign's test sends, newest first, by cursor pages: per recipient, the message
        as rendered and sent, and the provider's answer."""
        campaign = self.get_object()
        page = self.paginate_queryset(_test_sends().filter(parent=campaign))
        return self.get_paginated_response(TestSendSerializer(page, many=True).data)


def _test_sends() -> QuerySet[Campaign]:
    deliveries = Delivery.objects.select_related("recipient").order_by("recipient__external_id")
    return (
        Campaign.objects.filter(kind=Campaign.Kind.TEST)
        .select_related("created_by")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
    )


def _with_deliveries(test_id: int) -> Campaign:
    return _test_sends().get(pk=test_id)
