from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The domain: recipients, templates, campaigns, deliveries and their events."""

    name = "notifications"
    verbose_name = "Notifications"
