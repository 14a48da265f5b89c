from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """The developer's commands: `devserver` and `provider_emulator`."""

    name = "devtools"
    verbose_name = "Developer tools"
