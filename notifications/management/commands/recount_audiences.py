"""`manage.py recount_audiences`: check every static list's kept size, recount every segment."""

from django.core.management.base import BaseCommand

from notifications.audiences.services import audience_size_count, audience_sizes_rebuild
from notifications.models import Audience


class Command(BaseCommand):
    help = (
        "Recount each static audience's kept size from its members (reporting any that had "
        "drifted) and count every segment now."
    )

    def handle(self, *args, **options) -> None:
        wrong = audience_sizes_rebuild()
        lists = Audience.objects.filter(kind=Audience.Kind.STATIC).count()
        self.stdout.write(f"Static lists: {lists} checked, {wrong} corrected.")
        segments = Audience.objects.filter(kind=Audience.Kind.SEGMENT).order_by("pk")
        for segment in segments:
            size = audience_size_count(audience=segment)
            self.stdout.write(f"Segment '{segment.name}': {size:,} recipients.")
