"""The webhooks app: inbound callbacks, kept raw and turned into delivery events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Inbound callbacks: the raw inbox and its processing into delivery events."""

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
