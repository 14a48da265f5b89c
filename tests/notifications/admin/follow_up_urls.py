"""The admin's routes plus a stand-in for the follow-up confirmation page (built apart, in
`admin/follow_up.py`): the campaign page's links to it are tested by its URL name alone."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def _stand_in(request: HttpRequest, campaign_id: int, outcome: str) -> HttpResponse:
    return HttpResponse()


follow_up = path(
    "notifications/campaign/<int:campaign_id>/follow-up/<str:outcome>/",
    _stand_in,
    name="notifications_campaign_follow_up",
)
urlpatterns = [path("admin/", include(([follow_up, *admin.site.get_urls()], "admin")))]
