"""`manage.py demo_data`: fill an empty install with demo recipients, audiences, templates and
finished campaigns (`notifications.demo.fill`), once."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.demo.fill import DEFAULT_RECIPIENTS, demo_fill, demo_sentence
from notifications.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo data: recipients with Russian names and cities, a static "
        "list and a segment, a template per channel, a draft and four finished campaigns with "
        "their deliveries and SMS events. Run again, or on an install with recipients or campaigns "
        "of its own, it changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recipients",
            type=int,
            default=DEFAULT_RECIPIENTS,
            help=f"How many recipients to make (default {DEFAULT_RECIPIENTS}).",
        )

    def handle(self, *args, recipients: int, **options) -> None:
        try:
            report = demo_fill(recipients=recipients)
        except InvalidInput as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(demo_sentence(report))
