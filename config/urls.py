"""URL routes: the admin is the product's front door."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Vestnik"
admin.site.site_title = "Vestnik"
admin.site.index_title = "Campaigns, recipients and deliveries"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("webhooks/", include("webhooks.urls")),
    path("api/", include("notifications.api.urls")),
]
