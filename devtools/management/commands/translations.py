"""`manage.py translations`: the translation catalogues brought up to date with the code.

Extracts every translatable string of the product (not the tests, benchmarks, emulator or dev
tools) into `locale/<language>/LC_MESSAGES/django.po` with file locations (no line numbers: a
change elsewhere in a file does not touch the catalogue), drops strings the code no longer has,
and compiles the `.mo` files the product reads. Translate the new entries (empty `msgstr`), then
run it again. A test runs it on a copy of the tree and fails when the catalogue would change or
has an untranslated or fuzzy entry.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

# What is not the product: its strings are never shown to staff. makemessages matches a
# pattern against every directory's own name too, so the exports folder the files are written
# to (no .py or .html in it) is not listed: "exports/*" would skip notifications/exports.
IGNORED = [
    ".*",
    "tests/*",
    "benchmarks/*",
    "emulator/*",
    "devtools/*",
    "docs/*",
    "test-artifacts/*",
    "locale/*",
]


SOURCE_LANGUAGE = "en"


class Command(BaseCommand):
    help = "Refresh the translation catalogues from the code and compile them."

    def handle(self, *args: object, **options: object) -> None:
        # The code is written in English: every other language has a catalogue.
        languages = [code for code, _ in settings.LANGUAGES if code != SOURCE_LANGUAGE]
        for domain in ("django", "djangojs"):
            call_command(
                "makemessages",
                locale=languages,
                domain=domain,
                ignore_patterns=IGNORED,
                add_location="file",
                no_obsolete=True,
                verbosity=0,
            )
        call_command("compilemessages", locale=languages, ignore_patterns=IGNORED, verbosity=0)
        self.stdout.write(f"Catalogues refreshed for {', '.join(languages)} in locale/.")
