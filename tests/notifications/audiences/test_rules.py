"""The rules' check (audiences/rules.py)."""

import pytest

from notifications.audiences.rules import rules_clean
from notifications.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (
            {"field": "audience", "op": "in", "value": 2**63},
            f"Rule 1: {2**63!r} is not the id of an audience.",
        ),
        (
            {"field": "delivery", "op": "was", "value": {"status": "sent", "campaign": 2**63}},
            f"Rule 1: {2**63!r} is not the id of a campaign.",
        ),
    ],
)
def test_an_id_no_row_can_have_is_refused_as_not_an_id(rule, refusal):
    with pytest.raises(InvalidInput) as refused:
        rules_clean({"match": "all", "rules": [rule]})
    assert refused.value.message_dict == {"rules": [refusal]}
