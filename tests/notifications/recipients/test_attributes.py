"""The attribute registry's change of type (recipients/attributes.py)."""

import pytest

from notifications.errors import InvalidInput
from notifications.models import RecipientAttribute
from notifications.recipients.attributes import recipient_attribute_save
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


def test_a_refused_change_of_type_names_its_examples_in_one_sentence():
    make_recipient(external_id="c-1", attributes={"tier": "gold"})
    make_recipient(external_id="c-2", attributes={"tier": "high"})
    with pytest.raises(InvalidInput) as refused:
        recipient_attribute_save(
            attribute=RecipientAttribute.objects.get(name="tier"), data={"type": "number"}
        )
    assert refused.value.message_dict == {
        "type": [
            "2 recipients have a value of 'tier' that is not a number, for example c-1: 'gold' "
            "is not a number; c-2: 'high' is not a number. Correct them first."
        ]
    }
