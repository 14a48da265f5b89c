"""The kinds of fact a provider class declares about its channel, for the rest of the product.

Rendering, recipient validation, the send plan, the desk and the admin read a channel's facts
from its provider class (`registry.provider_class`) instead of branching on the channel: which
content fields it sends and needs, how long a text may be, how it addresses a person, whether a
recipient's external_id is that address, and what staff call its messages. The provider's own
`_refuse` reads the same declarations, so the product and the provider judge a message alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.reasons import SENTENCES, reason_encode, reason_text

# The largest id a numeric address may be: every numeric id the vendors take is a signed 64-bit
# integer.
MAX_NUMERIC_ADDRESS = 2**63 - 1


@dataclass(frozen=True)
class AddressKind:
    """How a channel addresses a person: the id's name as staff see it ("Yandex Market chatId")
    and whether it is a positive whole number.

    The name is given as the code of the reason whose sentence it is (`label_reason`): a
    refusal of an address is stored on the delivery and names the id in its reader's language.
    """

    label_reason: str
    numeric: bool

    @property
    def label(self) -> str:
        """The id's name in the active language."""
        return str(SENTENCES[self.label_reason])

    def accepts(self, address: str) -> bool:
        """Whether the provider would take `address` (surrounding spaces ignored)."""
        address = address.strip()
        if not self.numeric:
            return bool(address)
        return address.isdigit() and 0 < int(address) <= MAX_NUMERIC_ADDRESS

    def refusal(self, address: str) -> str | None:
        """Why the provider would not take `address`, as a stored reason; None when it would."""
        if self.accepts(address):
            return None
        label = reason_encode(self.label_reason)
        if not address.strip():
            return reason_encode("address_empty", label=label)
        return reason_encode("address_not_number", label=label, value=repr(address.strip()))

    def problem(self, address: str) -> str | None:
        """Why the provider would not take `address`, as staff read it now; None when it would."""
        refusal = self.refusal(address)
        return None if refusal is None else reason_text(refusal)


@dataclass(frozen=True)
class ContentNeed:
    """Content fields of which at least one must be non-empty, and what staff read when none is.

    `need` is the code of the reason that says so: staff read it as `sentence` in the language
    of the moment, and a provider that refuses such a message stores `refusal`.
    """

    fields: tuple[str, ...]
    need: str

    @property
    def sentence(self) -> str:
        """What staff read when none of `fields` is given, in the active language."""
        return str(SENTENCES[self.need])

    @property
    def refusal(self) -> str:
        """The same, as a stored reason (a delivery's error)."""
        return reason_encode(self.need)

    def met_by(self, present: set[str]) -> bool:
        """Whether one of `fields` is among the non-empty fields `present`."""
        return not present.isdisjoint(self.fields)
