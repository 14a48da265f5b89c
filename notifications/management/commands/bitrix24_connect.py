"""`manage.py bitrix24_connect --refresh-token TOKEN`: connect Bitrix24 without a browser."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from notifications.providers.bitrix24.oauth import exchange_refresh_token
from notifications.providers.bitrix24.tokens import DatabaseTokenStore, bitrix24_portal
from notifications.providers.exceptions import ProviderError


class Command(BaseCommand):
    help = (
        "Exchange a Bitrix24 refresh token (from the app's installation) for a fresh token pair "
        "and store it, for servers where nobody can open Admin -> Connect Bitrix24."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--refresh-token", required=True, help="The app's refresh token.")

    def handle(self, *args, refresh_token: str, **options) -> None:
        token = refresh_token.strip()
        if not token:
            raise CommandError(_("--refresh-token is empty."))
        try:
            portal = bitrix24_portal()
            if not portal:
                raise CommandError(_("BITRIX24_PORTAL_URL is not set."))
            tokens = exchange_refresh_token(token)
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        DatabaseTokenStore(portal).save(tokens)
        if tokens.expires_at:
            connected = _(
                "Bitrix24 portal %(portal)s is connected; the access token expires at "
                "%(moment)s UTC."
            ) % {"portal": portal, "moment": f"{tokens.expires_at:%Y-%m-%d %H:%M}"}
        else:
            connected = _("Bitrix24 portal %(portal)s is connected.") % {"portal": portal}
        self.stdout.write(
            self.style.SUCCESS(connected)
            + " "
            + _("Tokens are stored in the database and refreshed when they expire.")
        )
