"""Vestnik's admin site: the dashboard as its index, and the models grouped as staff use them.

Django lists apps alphabetically, so staff met "Authentication and Authorization" and "Background
tasks" first. Here the index and the sidebar list the models by the work they serve: campaigns,
people, delivery history, settings, and the engineers' administration last.

`VestnikAdminConfig` (in INSTALLED_APPS in place of `django.contrib.admin`) makes this the
default site, so `admin.site` and every `@admin.register` use it. The site lives outside the
`notifications.admin` package on purpose: Django imports the default site while that package is
registering its admins, and a site defined inside it would be built twice, losing them.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# (label of the group, its slug, the models in it as (app label, model class name)). A registered
# model missing here lands in the last group, so a new admin is never hidden.
GROUPS: tuple[tuple[Promise, str, tuple[tuple[str, str], ...]], ...] = (
    (
        _("Campaigns"),
        "campaigns",
        (("notifications", "Campaign"), ("notifications", "MessageTemplate")),
    ),
    (
        _("People"),
        "people",
        (
            ("notifications", "Recipient"),
            ("notifications", "Audience"),
            ("notifications", "RecipientAttribute"),
            ("notifications", "SeedRecipient"),
            ("notifications", "Address"),
        ),
    ),
    (
        _("Delivery history"),
        "history",
        (
            ("notifications", "Delivery"),
            ("notifications", "DeliveryEvent"),
            ("webhooks", "InboundWebhook"),
            ("webhooks", "InboundEvent"),
            ("notifications", "ExportJob"),
        ),
    ),
    (
        _("Settings & integrations"),
        "settings",
        (
            ("notifications", "SendingRules"),
            ("notifications", "FrequencyCap"),
            ("notifications", "IntegrationKey"),
            ("notifications", "Bitrix24Token"),
            ("outbound", "Endpoint"),
            ("outbound", "Message"),
        ),
    ),
    (
        _("Administration"),
        "administration",
        (
            ("auth", "User"),
            ("auth", "Group"),
            ("django_q", "Schedule"),
            ("django_q", "OrmQ"),
            ("django_q", "Success"),
            ("django_q", "Failure"),
        ),
    ),
)

# Names that say what a list is to staff where the model's own name says how it is built.
MODEL_NAMES = {
    ("webhooks", "InboundWebhook"): _("SMS webhook inbox"),
    ("webhooks", "InboundEvent"): _("SMS webhook events"),
    ("outbound", "Endpoint"): _("Outbound webhooks"),
    ("outbound", "Message"): _("Outbound webhook log"),
    ("django_q", "Schedule"): _("Background tasks: scheduled"),
    ("django_q", "OrmQ"): _("Background tasks: queued"),
    ("django_q", "Success"): _("Background tasks: succeeded"),
    ("django_q", "Failure"): _("Background tasks: failed"),
}


class VestnikAdminSite(admin.AdminSite):
    """The admin with a dashboard index and models grouped by the work they serve."""

    site_header = "Vestnik"
    site_title = "Vestnik"
    index_title = _("Dashboard")
    index_template = "admin/index.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The groups of `GROUPS` in order, each with the models this person may see.

        An app's own page (`/admin/<app_label>/`) keeps Django's list of that app's models.
        """
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                key = (app["app_label"], model["object_name"])
                models[key] = {**model, "name": MODEL_NAMES.get(key, model["name"])}
        grouped = []
        for name, slug, members in GROUPS:
            rows = [models.pop(key) for key in members if key in models]
            if slug == "settings":
                rows += _providers_row(request)
            grouped.append((name, slug, rows))
        # Whatever no group names goes last, where engineers look.
        grouped[-1][2].extend(sorted(models.values(), key=lambda model: model["name"]))
        app_list = []
        for name, slug, rows in grouped:
            if not rows:
                continue
            app_list.append(
                {
                    "name": name,
                    "app_label": slug,
                    "app_url": rows[0]["admin_url"],
                    "has_module_perms": True,
                    "models": rows,
                }
            )
        return app_list

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        """The dashboard above the grouped models."""
        # Imported here: the dashboard needs the admin package, which imports this site.
        from notifications.admin.dashboard import dashboard_context

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})


def _providers_row(request: HttpRequest) -> list[dict]:
    """The providers page as a row of the settings group, for those who may see campaigns."""
    if not request.user.has_perm("notifications.view_campaign"):
        return []
    return [
        {
            "name": gettext("Providers"),
            "object_name": "Providers",
            "admin_url": reverse("admin:notifications_campaign_providers"),
            "add_url": None,
            "view_only": True,
            "perms": {"view": True},
        }
    ]


class VestnikAdminConfig(AdminConfig):
    """`django.contrib.admin` with `admin.site` being `VestnikAdminSite`."""

    default_site = "config.admin_site.VestnikAdminSite"
