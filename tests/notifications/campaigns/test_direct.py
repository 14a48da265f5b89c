"""Direct sends refuse bad input by field and create nothing: test sends and API messages."""

import pytest

from notifications.campaigns.direct import (
    MAX_MESSAGE_RECIPIENTS,
    MAX_TEST_RECIPIENTS,
    campaign_send_test,
    message_send,
)
from notifications.errors import InvalidInput
from notifications.models import Campaign
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import use_test_providers

pytestmark = pytest.mark.django_db

CONTENT = {"title": "T", "body": "B"}


@pytest.fixture(autouse=True)
def providers(settings):
    use_test_providers(settings)


def refusal(call) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        call()
    assert not Campaign.objects.exclude(kind="campaign").exists()
    return refused.value


def test_a_test_send_names_the_unknown_external_ids():
    campaign = make_campaign(make_audience(make_recipient(external_id="c-1")))
    refused = refusal(
        lambda: campaign_send_test(campaign_id=campaign.pk, external_ids=["c-1", "zed", "bob"])
    )
    assert refused.message_dict == {"recipients": ["No recipients have the external_ids bob, zed."]}


def test_a_test_send_goes_to_at_most_the_limit():
    campaign = make_campaign()
    too_many = [f"c-{i}" for i in range(MAX_TEST_RECIPIENTS + 1)]
    refused = refusal(lambda: campaign_send_test(campaign_id=campaign.pk, external_ids=too_many))
    assert refused.message_dict == {
        "recipients": [f"A test goes to at most {MAX_TEST_RECIPIENTS} recipients."]
    }


def test_a_message_goes_to_at_most_the_limit():
    too_many = [f"c-{i}" for i in range(MAX_MESSAGE_RECIPIENTS + 1)]
    refused = refusal(
        lambda: message_send(channel="imshop", external_ids=too_many, content=CONTENT)
    )
    assert refused.message_dict == {
        "recipients": [f"A message goes to at most {MAX_MESSAGE_RECIPIENTS} recipients."]
    }


def test_a_message_takes_a_template_or_a_content_not_both():
    make_recipient(external_id="c-1")
    refused = refusal(
        lambda: message_send(
            channel="imshop", external_ids=["c-1"], template=make_template(), content=CONTENT
        )
    )
    assert refused.messages == ["Give either a template or a content, not both."]


def test_content_the_channel_refuses_is_named_on_content_before_unknown_recipients():
    refused = refusal(
        lambda: message_send(channel="imshop", external_ids=["ghost"], content={"body": "B"})
    )
    assert refused.message_dict == {"content": ["title: Imshop pushes need a title."]}


def test_a_template_the_channel_refuses_is_named_on_template():
    make_recipient(external_id="c-1")
    template = make_template(title="", body="B")
    refused = refusal(
        lambda: message_send(channel="imshop", external_ids=["c-1"], template=template)
    )
    assert refused.message_dict == {"template": ["title: Imshop pushes need a title."]}


def test_a_message_names_the_unknown_external_ids():
    make_recipient(external_id="c-1")
    refused = refusal(
        lambda: message_send(channel="imshop", external_ids=["c-1", "ghost"], content=CONTENT)
    )
    assert refused.message_dict == {"recipients": ["No recipient has external_id ghost."]}
