"""`manage.py provider_emulator`: the four providers and Sendios' callbacks on one local address.

It checks the credentials Vestnik's own settings hold, so a `.env` that points the providers at it
(the lines it prints) makes the whole product run without a vendor account.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from emulator import CallbackMix, Credentials, Emulator

DEFAULT_ADDR = "127.0.0.1:8025"
CREDENTIAL_SETTINGS = {
    "imshop_api_key": "IMSHOP_API_KEY",
    "leadconverter_token": "LEADCONVERTER_TOKEN",
    "yandex_market_api_key": "YANDEX_MARKET_API_KEY",
    "yandex_market_business_id": "YANDEX_MARKET_BUSINESS_ID",
    "bitrix24_client_id": "BITRIX24_CLIENT_ID",
    "bitrix24_client_secret": "BITRIX24_CLIENT_SECRET",
}


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(value)
    return number


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit():
        raise ValueError(value)
    return host or "127.0.0.1", int(port)


def credentials_from_settings() -> Credentials:
    """The credentials our provider clients send, read from settings; CommandError names the
    ones that are unset."""
    values = {
        field: str(getattr(settings, name, "") or "").strip()
        for field, name in CREDENTIAL_SETTINGS.items()
    }
    missing = [CREDENTIAL_SETTINGS[field] for field, value in values.items() if not value]
    if missing:
        raise CommandError(
            f"The emulator checks the credentials Vestnik sends, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set: set them in .env (a fresh .env "
            "from `make .env` has random ones)."
        )
    try:
        return Credentials(**values)
    except ValueError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Serve local stand-ins for Imshop, LeadConverter, Yandex Market and Bitrix24 that check "
        "the credentials in settings, enforce the vendors' limits and record every message; "
        "optionally post Sendios SMS callbacks to our webhook. Ctrl-C stops it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", type=_address, default=DEFAULT_ADDR, help="host:port")
        parser.add_argument(
            "--time-scale",
            type=float,
            default=1.0,
            help="Divide every vendor duration by this (60: a minute lasts a second).",
        )
        parser.add_argument(
            "--fail-rate",
            type=_fraction,
            default=0.0,
            help="Answer this fraction of good requests with the vendor's transient error.",
        )
        parser.add_argument("--latency-ms", type=float, default=0.0, help="Delay every answer.")
        parser.add_argument(
            "--no-limits",
            action="store_true",
            help="Let every request through (crossings are still counted): for benchmarks.",
        )
        parser.add_argument("--seed", type=int, default=None, help="Repeatable random choices.")
        parser.add_argument(
            "--webhook-url",
            default="",
            help="Post Sendios SMS callbacks for accepted Imshop pushes here "
            "(e.g. http://127.0.0.1:8000/webhooks/sms/), with the first SMS_WEBHOOK_SECRETS.",
        )
        parser.add_argument("--sendios-project-id", type=int, default=CallbackMix.project_id)
        parser.add_argument("--sendios-template-id", type=int, default=CallbackMix.template_id)
        parser.add_argument(
            "--sms-fraction",
            type=_fraction,
            default=CallbackMix.fraction,
            help="Of a push's users, the fraction that get an SMS (and callbacks).",
        )
        parser.add_argument(
            "--bitrix24-redirect-uri",
            default="",
            help="Where Bitrix24's consent step sends staff back to: the callback address "
            "Admin -> Connect Bitrix24 shows.",
        )

    def handle(self, *args, **options) -> None:
        credentials = credentials_from_settings()
        secret = ""
        if options["webhook_url"]:
            secrets = [s.strip() for s in settings.SMS_WEBHOOK_SECRETS if s and s.strip()]
            if not secrets:
                raise CommandError(
                    "--webhook-url needs SMS_WEBHOOK_SECRETS: the callbacks must present the "
                    "secret our webhook checks."
                )
            secret = secrets[0]
        host, port = options["addr"]
        try:
            emulator = Emulator(
                host,
                port,
                time_scale=options["time_scale"],
                fail_rate=options["fail_rate"],
                latency_ms=options["latency_ms"],
                limits=not options["no_limits"],
                seed=options["seed"],
                credentials=credentials,
                webhook_url=options["webhook_url"] or None,
                webhook_secret=secret or None,
                sendios=CallbackMix(
                    fraction=options["sms_fraction"],
                    project_id=options["sendios_project_id"],
                    template_id=options["sendios_template_id"],
                ),
                bitrix24_redirect_uri=options["bitrix24_redirect_uri"] or None,
            )
        except (OSError, ValueError) as error:
            raise CommandError(f"The emulator cannot start on {host}:{port}: {error}") from None
        # Only the addresses: the credentials are the settings' own, and a key never goes to
        # a console or a log, even a local one.
        lines = "\n".join(
            f"{name}={value}"
            for name, value in emulator.settings().items()
            if name.endswith("_URL") or name == "YANDEX_MARKET_BUSINESS_ID"
        )
        self.stdout.write(
            f"Provider emulator on {emulator.url} (stats: {emulator.url}/_emulator/stats), "
            "checking the provider credentials in your settings. These .env lines point every "
            f"provider at it:\n{lines}"
        )
        self.stdout.flush()
        try:
            emulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Provider emulator stopped.")
