from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = _("Outbound webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications.sending.history import history_reader_add

        from . import signals  # noqa: F401  (connects the wake-up on campaign moves)
        from .fanout import history_wanted

        history_reader_add(history_wanted)
