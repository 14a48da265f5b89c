from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """The domain: recipients, templates, campaigns, deliveries and their events."""

    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .sending import checks as sending_checks  # noqa: F401 - registers its checks
