"""`manage.py import_recipients FILE --audience NAME`: upsert recipients from a CSV file."""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, ngettext
from tqdm import tqdm

from notifications.exports.inert import write_csv
from notifications.models import Audience
from notifications.recipients.reading import (
    CsvFormatError,
    RecipientRow,
    RejectedRow,
    read_recipient_rows,
)
from notifications.recipients.upsert import recipients_import

SHOWN_REJECTIONS = 20
PROGRESS_EVERY_ROWS = 1000


class Command(BaseCommand):
    help = (
        "Import recipients from a CSV file (upsert by external_id) into an audience. Columns: "
        "external_id, phone, first_name, last_name, imshop, leadconverter, yandex_market, "
        "bitrix24; any other column becomes an attribute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file, UTF-8, with a header row.")
        parser.add_argument(
            "--audience", required=True, help="Audience to add everyone to (created if new)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and report; change nothing."
        )
        parser.add_argument(
            "--rejects", type=Path, help="Write every rejected row (line, external_id, reason)."
        )

    def handle(
        self, *args, file: Path, audience: str, dry_run: bool, rejects: Path | None, **options
    ) -> None:
        if not file.is_file():
            raise CommandError(gettext("No such file: %(file)s.") % {"file": file})
        audience_name = audience.strip()
        if not audience_name:
            raise CommandError(gettext("--audience needs a name."))
        target = Audience.objects.filter(name=audience_name).first()
        if target is None and not dry_run:
            target = Audience.objects.create(name=audience_name)
            self.stdout.write(gettext("Created audience '%(name)s'.") % {"name": audience_name})

        with file.open("rb") as stream:
            try:
                report = recipients_import(
                    rows=self._with_progress(read_recipient_rows(stream), stream, file),
                    audience=target,
                    dry_run=dry_run,
                )
            except CsvFormatError as exc:
                raise CommandError(f"{file}: {exc}") from exc

        for rejected in report.rejected[:SHOWN_REJECTIONS]:
            who = f" ({rejected.external_id})" if rejected.external_id else ""
            self.stderr.write(
                gettext("line %(line)s%(who)s: %(reason)s")
                % {"line": rejected.line, "who": who, "reason": rejected.reason}
            )
        hidden = len(report.rejected) - SHOWN_REJECTIONS
        if hidden > 0:
            self.stderr.write(
                ngettext(
                    "... and %(count)s more rejected row (see --rejects).",
                    "... and %(count)s more rejected rows (see --rejects).",
                    hidden,
                )
                % {"count": hidden}
            )
        if rejects is not None:
            self._write_rejects(rejects, report.rejected)
        self.stdout.write(report.summary())
        if report.rejected:
            rejected = len(report.rejected)
            if dry_run:
                outcome = ngettext(
                    "%(rejected)s row was rejected; the other %(accepted)s would be.",
                    "%(rejected)s rows were rejected; the other %(accepted)s would be.",
                    rejected,
                )
            else:
                outcome = ngettext(
                    "%(rejected)s row was rejected; the other %(accepted)s went in.",
                    "%(rejected)s rows were rejected; the other %(accepted)s went in.",
                    rejected,
                )
            raise CommandError(outcome % {"rejected": rejected, "accepted": report.accepted})

    def _with_progress(
        self, rows: Iterable[RecipientRow | RejectedRow], stream: BinaryIO, file: Path
    ) -> Iterator[RecipientRow | RejectedRow]:
        # Progress is in bytes: known up front, unlike the number of rows.
        with tqdm(
            total=file.stat().st_size, unit="B", unit_scale=True, desc="Importing", disable=None
        ) as bar:
            for count, row in enumerate(rows, start=1):
                if count % PROGRESS_EVERY_ROWS == 0:
                    bar.update(stream.tell() - bar.n)
                yield row
            bar.update(bar.total - bar.n)

    def _write_rejects(self, path: Path, rejected: list[RejectedRow]) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            write_csv(
                out,
                [
                    ("line", "external_id", "reason"),
                    *((row.line, row.external_id, row.reason) for row in rejected),
                ],
            )
        self.stdout.write(
            ngettext(
                "Wrote %(count)s rejected row to %(path)s.",
                "Wrote %(count)s rejected rows to %(path)s.",
                len(rejected),
            )
            % {"count": len(rejected), "path": path}
        )
