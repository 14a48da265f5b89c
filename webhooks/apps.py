from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Inbound callbacks: the raw inbox and its processing into delivery events."""

    name = "webhooks"
    verbose_name = "Webhooks"
