"""`manage.py create_api_key NAME [--read-only]`: a new API key for an integration."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from notifications.api.keys import integration_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for an integration and print it as the last line. Only its hash is "
        "stored: copy it now. Revoke it in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who uses the key, such as 'shop backend' (50 max).")
        parser.add_argument(
            "--read-only", action="store_true", help="The key may read but never write."
        )

    def handle(self, *args, name: str, read_only: bool, **options) -> None:
        name = name.strip()
        if not name or len(name) > 50:
            raise CommandError(_("Give the key a name of 1 to 50 characters."))
        key, secret = integration_key_create(name=name, read_only=read_only)
        if read_only:
            created = _(
                "Created read-only API key '%(name)s' (prefix %(prefix)s). It is shown only "
                "now; send it as the header 'Authorization: Api-Key <key>':"
            )
        else:
            created = _(
                "Created read-write API key '%(name)s' (prefix %(prefix)s). It is shown only "
                "now; send it as the header 'Authorization: Api-Key <key>':"
            )
        self.stdout.write(created % {"name": key.name, "prefix": key.prefix})
        self.stdout.write(secret)
