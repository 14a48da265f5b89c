"""What a database can store: the one rule the API, the validators and the webhook share."""

import json

import pytest

from notifications.db.storable import MAX_JSON_DEPTH, nesting_exceeds, unstorable_character


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("plain text, кириллица, emoji 🎉", None),
        ("a\x00b", "a NUL character"),
        ("\ud800", "half of a surrogate pair"),
        ("ok\udfff", "half of a surrogate pair"),
    ],
)
def test_text_a_database_cannot_store_is_named(text, problem):
    assert unstorable_character(text) == problem


@pytest.mark.parametrize(
    ("depth", "too_deep"), [(MAX_JSON_DEPTH, False), (MAX_JSON_DEPTH + 1, True)]
)
def test_json_is_too_deep_one_level_past_the_limit(depth, too_deep):
    data = json.loads("[" * depth + "]" * depth)
    assert nesting_exceeds(data) is too_deep


def test_the_depth_check_survives_nesting_far_past_the_stack():
    data: list = []
    for _ in range(100_000):
        data = [data]
    assert nesting_exceeds(data)
