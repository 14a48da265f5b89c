"""Checks of recipient data shared by CSV import, admin forms and the API.

Each `clean_*` function returns the clean value or raises `django.core.exceptions.ValidationError`
with a sentence a person can act on.

No text a recipient stores may hold a NUL character, which PostgreSQL cannot store in a text
column or in JSON, nor half of a UTF-16 surrogate pair (JSON's `"\\ud800"`), which is not Unicode
and no database can encode. Plain text fields of forms and serializers never let them through;
the checks here reach what those do not (JSON attributes, CSV cells).
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext, ngettext

from notifications.db.storable import unstorable_character
from notifications.errors import InvalidInput
from notifications.models import Address, Recipient
from notifications.providers.registry import provider_class
from notifications.staff import known_time_zones

_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def clean_text(label: str, value: str) -> str:
    """`value` unchanged, unless it holds a character no database stores (`label` names it)."""
    if what := unstorable_character(value):
        raise ValidationError(
            gettext("%(label)s contains %(what)s, which cannot be stored.")
            % {"label": label, "what": what}
        )
    return value


def clean_external_id(value: str) -> str:
    value = clean_text("external_id", value).strip()
    if not value:
        raise ValidationError(gettext("external_id is empty."))
    if len(value) > 255:
        raise ValidationError(gettext("external_id is longer than 255 characters."))
    return value


def clean_phone(value: str) -> str:
    """A phone number as digits only (E.164 without '+'), the form Imshop also accepts."""
    digits = _PHONE_PUNCTUATION.sub("", clean_text("phone", value).strip()).removeprefix("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValidationError(
            gettext("'%(value)s' is not a phone number (7 to 15 digits, '+' allowed).")
            % {"value": value}
        )
    return digits


def clean_time_zone(value: str) -> str:
    """A recipient's zone: an IANA name this system knows (`zoneinfo.available_timezones`), or
    empty for the site's default zone."""
    value = clean_text("timezone", value).strip()
    if value and value not in known_time_zones():
        raise ValidationError(
            gettext(
                "timezone '%(value)s' is not a time zone: use an IANA name such as "
                "Europe/Moscow, or leave it empty for the site's default zone."
            )
            % {"value": value}
        )
    return value


def clean_address(channel: str, value: str) -> str:
    """An address on `channel`: a positive integer id where the provider uses one."""
    kind = provider_class(channel).address_kind
    label = kind.label
    value = clean_text(label, value).strip()
    # The provider's own judgement first: what it would refuse at send time is refused here.
    if problem := kind.problem(value):
        raise ValidationError(problem)
    if kind.numeric:
        return str(int(value))
    if len(value) > 255 or any(ch.isspace() for ch in value):
        raise ValidationError(
            gettext("%(label)s must be at most 255 characters without spaces.") % {"label": label}
        )
    return value


def address_holders(
    addresses: Iterable[tuple[str, str]], *, other_than: int | None = None
) -> dict[tuple[str, str], str]:
    """The external_id of the recipient holding each (channel, value) address, where one does,
    leaving out recipient `other_than` (the one being edited): one query for them all."""
    wanted: dict[str, set[str]] = {}
    for channel, value in addresses:
        wanted.setdefault(channel, set()).add(value)
    if not wanted:
        return {}
    # One term per channel, not per address: a bulk upsert names thousands of addresses, and
    # SQLite refuses an expression nested that deep.
    condition = Q()
    for channel, values in wanted.items():
        condition |= Q(channel=channel, value__in=values)
    held = Address.objects.filter(condition)
    if other_than is not None:
        held = held.exclude(recipient_id=other_than)
    return {
        (channel, value): external_id
        for channel, value, external_id in held.values_list(
            "channel", "value", "recipient__external_id"
        )
    }


def address_taken_message(channel: str, value: str, holder: str) -> str:
    """The sentence refusing an address recipient `holder` has already."""
    return gettext("%(channel)s address %(value)s already belongs to recipient '%(holder)s'.") % {
        "channel": channel,
        "value": value,
        "holder": holder,
    }


def clean_addresses_free(
    addresses: Mapping[str, str], *, recipient_id: int | None
) -> Mapping[str, str]:
    """`addresses` (channel to value) unchanged, unless another recipient than `recipient_id`
    (None for a new one) holds one of them."""
    holders = address_holders(addresses.items(), other_than=recipient_id)
    for channel, value in addresses.items():
        if (holder := holders.get((channel, value))) is not None:
            raise ValidationError(address_taken_message(channel, value, holder))
    return addresses


def recipients_known(external_ids: Iterable[str]) -> dict[str, int]:
    """The id of each recipient named by external_id; InvalidInput (on `recipients`) naming
    every one that does not exist."""
    wanted = set(external_ids)
    known = dict(Recipient.objects.filter(external_id__in=wanted).values_list("external_id", "pk"))
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InvalidInput(
            ngettext(
                "No recipient has external_id %(ids)s.",
                "No recipients have the external_ids %(ids)s.",
                len(unknown),
            )
            % {"ids": ", ".join(unknown)},
            field="recipients",
        )
    return known


def clean_attribute_name(name: str) -> str:
    """An attribute name usable as a template variable ({{ city }})."""
    # First: the error below echoes the name, and no page can hold half a surrogate pair.
    clean_text(gettext("An attribute name"), name)
    if not _ATTRIBUTE_NAME.fullmatch(name) or len(name) > 100:
        raise ValidationError(
            gettext(
                "'%(name)s' cannot be a template variable: use letters, digits and underscores, "
                "starting with a letter."
            )
            % {"name": name}
        )
    return name


def clean_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Template variables: every name usable as one, every value storable."""
    for name, value in attributes.items():
        clean_attribute_value(clean_attribute_name(name), value)
    return attributes


def clean_attribute_value(name: str, value: Any) -> Any:
    """A JSON value of attribute `name`, refused if a NUL hides anywhere in it, keys included."""
    for text in _texts(value):
        clean_text(gettext("Attribute '%(name)s'") % {"name": name}, text)
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [str(key), *_texts(item)]]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []
