"""URL routes: the admin is the product's front door (its titles are on the site class,
`config.admin_site.VestnikAdminSite`)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from notifications.admin.profile import time_zone_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # The person's own page, under the admin's address and behind its login.
    path(
        "admin/profile/time-zone/",
        admin.site.admin_view(time_zone_view),
        name="staff_time_zone",
    ),
    path("admin/", admin.site.urls),
    # The language switch in the admin's header posts to `set_language` here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("webhooks/", include("webhooks.urls")),
    path("api/", include("notifications.api.urls")),
]
