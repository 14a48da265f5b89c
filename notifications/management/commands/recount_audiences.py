"""`manage.py recount_audiences`: check every static list's kept size, recount every segment."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.audiences.services import audience_size_count, audience_sizes_rebuild
from notifications.formats import number_text
from notifications.models import Audience


class Command(BaseCommand):
    help = (
        "Recount each static audience's kept size from its members (reporting any that had "
        "drifted) and count every segment now."
    )

    def handle(self, *args, **options) -> None:
        wrong = audience_sizes_rebuild()
        lists = Audience.objects.filter(kind=Audience.Kind.STATIC).count()
        self.stdout.write(
            _("Static lists: %(checked)s checked, %(corrected)s corrected.")
            % {"checked": number_text(lists), "corrected": number_text(wrong)}
        )
        segments = Audience.objects.filter(kind=Audience.Kind.SEGMENT).order_by("pk")
        for segment in segments:
            size = audience_size_count(audience=segment)
            self.stdout.write(
                ngettext(
                    "Segment '%(name)s': %(count)s recipient.",
                    "Segment '%(name)s': %(count)s recipients.",
                    size,
                )
                % {"name": segment.name, "count": number_text(size)}
            )
