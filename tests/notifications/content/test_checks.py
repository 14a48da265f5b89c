"""The content checks that read the database: a template being saved, a message about to go."""

import pytest

from notifications.content.checks import channel_message_errors, message_template_errors
from notifications.content.rendering import TEMPLATE_FIELDS
from tests.factories import make_campaign, make_template
from tests.support.long_texts import AT_AND_OVER

pytestmark = pytest.mark.django_db


def fields(**given: str) -> dict[str, str]:
    return {name: given.get(name, "") for name in TEMPLATE_FIELDS}


def test_a_new_template_is_checked_for_itself_only():
    assert message_template_errors(fields(body="{{ nope }}"), template=None) == {
        "body": [
            "No recipient has this variable: nope. Import a column of that name or fix the "
            "spelling."
        ]
    }


def test_a_saved_template_must_stay_sendable_for_its_draft_campaigns_only():
    template = make_template(title="Hi", body="Text")
    make_campaign(template=template, channel="leadconverter", status="running")
    assert message_template_errors(fields(body="Text"), template=template) == {}
    make_campaign(template=template, channel="imshop")
    assert message_template_errors(fields(body="Text"), template=template) == {
        "title": ["Imshop pushes need a title. (a draft campaign on this channel uses it)"]
    }


def test_a_message_is_checked_as_a_template_and_for_its_channel():
    assert channel_message_errors("imshop", fields(body="{{ nope }}")) == {
        "body": [
            "No recipient has this variable: nope. Import a column of that name or fix the "
            "spelling."
        ],
        "title": ["Imshop pushes need a title."],
    }


def test_a_message_using_recipient_fields_passes():
    assert channel_message_errors("imshop", fields(title="Hi {{ first_name }}", body="B")) == {}


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_message_is_measured_in_characters_for_its_channel(made_of, at, over):
    assert channel_message_errors("yandex_market", fields(body=at)) == {}
    assert channel_message_errors("yandex_market", fields(body=over)) == {
        "body": ["Yandex Market accepts at most 4096 characters; this text has 4097."]
    }
