"""Routes of the REST API, its OpenAPI schema and its docs (served offline)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from outbound.api import EndpointViewSet, MessageViewSet

from .views.attributes import RecipientAttributeViewSet
from .views.audiences import AudienceViewSet
from .views.campaigns import CampaignViewSet
from .views.compare import CampaignCompareView
from .views.history import DeliveryEventViewSet, DeliveryViewSet
from .views.messages import MessageView
from .views.recipients import RecipientViewSet
from .views.templates import MessageTemplateViewSet
from .views.test_recipients import TestRecipientViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("recipients", RecipientViewSet, basename="recipient")
router.register("audiences", AudienceViewSet, basename="audience")
router.register("attributes", RecipientAttributeViewSet, basename="attribute")
router.register("templates", MessageTemplateViewSet, basename="template")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("test-recipients", TestRecipientViewSet, basename="test-recipient")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", DeliveryEventViewSet, basename="event")
router.register("webhook-endpoints", EndpointViewSet, basename="webhook-endpoint")
router.register("webhook-messages", MessageViewSet, basename="webhook-message")

app_name = "api"

urlpatterns = [
    path("campaigns/compare/", CampaignCompareView.as_view(), name="campaign-compare"),
    path("", include(router.urls)),
    path("messages/", MessageView.as_view(), name="messages"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
