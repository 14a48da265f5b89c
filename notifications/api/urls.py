"""Routes of the REST API, its OpenAPI schema and its docs (served offline)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("recipients", views.RecipientViewSet, basename="recipient")
router.register("audiences", views.AudienceViewSet, basename="audience")
router.register("templates", views.MessageTemplateViewSet, basename="template")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("events", views.DeliveryEventViewSet, basename="event")

app_name = "api"

urlpatterns = [
    path("", include(router.urls)),
    path("messages/", views.MessageView.as_view(), name="messages"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
