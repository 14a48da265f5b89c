"""The signed-in person's own page: the time zone their pages show times in.

Reached from the links at the top of every admin page; its URL is routed in `config/urls.py`,
ahead of the admin's own, behind the admin's login.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.errors import InvalidInput
from notifications.models import StaffProfile
from notifications.staff import offered_time_zones, site_time_zone, staff_time_zone_set

from .base import local_time_text, refusal_on_form
from .timezones import zone_label


def time_zone_choices() -> list[tuple[str, str]]:
    """The site's zone first, then Russia's zones, then every other place."""
    site = gettext("Site default (%(zone)s)") % {"zone": zone_label(site_time_zone())}
    return [("", site), *((name, name.replace("_", " ")) for name in offered_time_zones())]


class TimeZoneForm(forms.Form):
    """A zone from the list; which names are zones is the service's rule."""

    time_zone = forms.CharField(
        label=_("Your time zone"),
        required=False,
        help_text=_("Pages show times in this zone, and read the dates and times you pick in it."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget = forms.Select(choices=time_zone_choices())


def time_zone_view(request: HttpRequest) -> HttpResponse:
    """Show the person's zone and let them choose another."""
    chosen = StaffProfile.objects.filter(user_id=request.user.pk).values_list(
        "time_zone", flat=True
    )
    form = TimeZoneForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": chosen.first() or ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            staff_time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except InvalidInput as exc:
            refusal_on_form(form, exc)
        else:
            if form.cleaned_data["time_zone"]:
                text = gettext("Times are now shown in %(zone)s.") % {
                    "zone": form.cleaned_data["time_zone"]
                }
            else:
                text = gettext("Times are now shown in the site's zone (%(zone)s).") % {
                    "zone": site_time_zone()
                }
            messages.success(request, text)
            return redirect("staff_time_zone")
    context = {
        **admin.site.each_context(request),
        "title": gettext("Your time zone"),
        "form": form,
        "zone_label": zone_label(),
        "now_text": local_time_text(timezone.now()),
    }
    return TemplateResponse(request, "admin/notifications/profile.html", context)
