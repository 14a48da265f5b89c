"""Reading recipients from CSV: parse and check rows, one at a time, with their line numbers.

Writing them is `services.recipients_import`; this module only turns bytes into rows.

Columns: `external_id` (required), `phone`, `first_name`, `last_name`, `timezone` (an IANA
zone), one column per channel
(`imshop`, `leadconverter`, `yandex_market`, `bitrix24`) holding the recipient's address there;
every other column becomes an attribute of that name. Headers are matched ignoring case, and
spaces or dashes in them count as underscores. An empty cell leaves the stored value unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from notifications.models import Channel
from notifications.recipients.validators import (
    clean_address,
    clean_attribute_name,
    clean_attribute_value,
    clean_external_id,
    clean_phone,
    clean_text,
    clean_time_zone,
)

NAME_COLUMNS = {"first_name": 150, "last_name": 150}
CHANNEL_COLUMNS = tuple(Channel.values)
# Every other column is an attribute.
KNOWN_COLUMNS = frozenset({"external_id", "phone", "timezone", *NAME_COLUMNS, *CHANNEL_COLUMNS})
SNIFF_BYTES = 64 * 1024


class CsvFormatError(Exception):
    """The file as a whole cannot be read as a recipient list; nothing was imported."""


@dataclass(frozen=True)
class RecipientRow:
    """One valid CSV row."""

    line: int
    external_id: str
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    timezone: str = ""
    addresses: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not imported, and why."""

    line: int
    reason: str
    external_id: str = ""


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _detect_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    # Spreadsheets in many locales save with ';', so guess among the usual delimiters.
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _text_stream(stream: BinaryIO) -> io.TextIOWrapper:
    # utf-8-sig drops the byte-order mark Excel writes.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def read_recipient_rows(stream: BinaryIO) -> Iterator[RecipientRow | RejectedRow]:
    """Yield each data row of a seekable CSV file, checked; raise CsvFormatError for a bad file.

    Rows are read lazily, so a file of any size takes the memory of one row at a time.
    """
    text = _text_stream(stream)
    try:
        sample = text.read(SNIFF_BYTES)
        text.seek(0)
        reader = csv.reader(text, dialect=_detect_dialect(sample))
        header = next(reader, None)
        if header is None:
            raise CsvFormatError(
                gettext("The file is empty: expected a header row with external_id.")
            )
        columns = _check_header(header)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            yield _parse_row(reader.line_num, row, columns)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            gettext(
                "The file is not UTF-8 text (bad byte at position %(position)s): "
                "save it as 'CSV UTF-8' and try again."
            )
            % {"position": exc.start}
        ) from exc
    except csv.Error as exc:
        raise CsvFormatError(
            gettext("The file is not valid CSV: %(problem)s.") % {"problem": exc}
        ) from exc
    finally:
        text.detach()


def _check_header(header: list[str]) -> list[str]:
    columns = [_normalise_header(name) for name in header]
    if "external_id" not in columns:
        raise CsvFormatError(
            gettext("The header has no external_id column; found: %(columns)s.")
            % {"columns": ", ".join(header)}
        )
    seen: set[str] = set()
    for original, column in zip(header, columns, strict=True):
        if not column:
            raise CsvFormatError(gettext("The header has an empty column name."))
        if column in seen:
            raise CsvFormatError(
                gettext("The header names the column '%(column)s' twice.") % {"column": original}
            )
        seen.add(column)
        if column not in KNOWN_COLUMNS:
            try:
                clean_attribute_name(column)
            except ValidationError as exc:
                raise CsvFormatError(
                    gettext("Column '%(column)s': %(problem)s")
                    % {"column": original, "problem": exc.messages[0]}
                ) from exc
    return columns


def _parse_row(line: int, row: list[str], columns: list[str]) -> RecipientRow | RejectedRow:
    if len(row) > len(columns):
        return RejectedRow(
            line,
            gettext("has %(count)s cells but the header has %(columns)s.")
            % {"count": len(row), "columns": len(columns)},
        )
    cells = dict(zip(columns, (cell.strip() for cell in row), strict=False))
    raw_id = cells.get("external_id", "")
    try:
        external_id = clean_external_id(raw_id)
        phone = clean_phone(cells["phone"]) if cells.get("phone") else ""
        time_zone = clean_time_zone(cells.get("timezone", ""))
        names = {}
        for column, max_length in NAME_COLUMNS.items():
            value = clean_text(column, cells.get(column, ""))
            if len(value) > max_length:
                raise ValidationError(
                    gettext("%(column)s is longer than %(most)s characters.")
                    % {"column": column, "most": max_length}
                )
            names[column] = value
        addresses = {
            channel: clean_address(channel, cells[channel])
            for channel in CHANNEL_COLUMNS
            if cells.get(channel)
        }
        # Attribute names were checked once, in the header.
        attributes = {
            column: clean_attribute_value(column, value)
            for column, value in cells.items()
            if value and column not in KNOWN_COLUMNS
        }
    except ValidationError as exc:
        return RejectedRow(line, exc.messages[0], raw_id)
    return RecipientRow(
        line=line,
        external_id=external_id,
        phone=phone,
        timezone=time_zone,
        addresses=addresses,
        attributes=attributes,
        **names,
    )
