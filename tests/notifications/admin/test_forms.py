"""The admin's forms show the domain's checks as field errors, in the domain's words."""

import pytest

from notifications.admin.forms import (
    AddressForm,
    CampaignForm,
    MessageTemplateForm,
    RecipientImportForm,
)
from notifications.audiences.services import audience_save
from notifications.campaigns.services import campaign_errors
from notifications.content.checks import message_template_errors
from notifications.models import Address
from notifications.recipients.validators import address_taken_message
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.support.long_texts import AT_AND_OVER

pytestmark = pytest.mark.django_db


def test_an_address_another_recipient_holds_is_a_value_error_in_the_domains_words():
    make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    form = AddressForm(
        {"channel": "leadconverter", "value": " 7365 "},
        instance=Address(recipient=make_recipient()),
    )
    assert form.errors == {"value": [address_taken_message("leadconverter", "7365", "owner")]}


def test_a_recipient_keeps_their_own_address_through_the_form():
    owner = make_recipient(addresses={"leadconverter": "7365"})
    address = owner.addresses.get()
    assert AddressForm({"channel": "leadconverter", "value": "7365"}, instance=address).is_valid()


def test_a_template_form_shows_what_a_draft_campaign_using_it_would_refuse():
    template = make_template(title="Hi", body="Text")
    make_campaign(template=template, channel="imshop")
    fields = {"name": template.name, "title": "", "body": "Text"}
    form = MessageTemplateForm(fields, instance=template)
    expected = message_template_errors(fields, template=template)
    assert expected == {
        "title": ["Imshop pushes need a title. (a draft campaign on this channel uses it)"]
    }
    assert form.errors == expected


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_template_form_measures_the_text_in_characters_for_a_chat_draft(made_of, at, over):
    template = make_template(body="Text")
    make_campaign(template=template, channel="yandex_market")

    assert MessageTemplateForm({"name": template.name, "body": at}, instance=template).is_valid()
    form = MessageTemplateForm({"name": template.name, "body": over}, instance=template)
    assert form.errors == {
        "body": [
            "Yandex Market accepts at most 4096 characters; this text has 4097. "
            "(a draft campaign on this channel uses it)"
        ]
    }


def test_a_campaign_form_refuses_a_template_its_channel_cannot_send_and_one_sendios_id():
    template = make_template(title="", body="Text")
    form = CampaignForm(
        {
            "name": "Spring",
            "channel": "imshop",
            "template": template.pk,
            "audiences": [make_audience().pk],
            "sendios_project_id": 3,
            "caps_on": "on",
            "capped_action": "defer",
        }
    )
    expected = campaign_errors(
        channel="imshop", template=template, sendios_project_id=3, sendios_template_id=None
    )
    assert set(expected) == {"template", "sendios_template_id"}
    assert form.errors == expected


def test_the_import_form_offers_static_audiences_only():
    static = make_audience(name="Spring")
    rules = {"match": "all", "rules": [{"field": "external_id", "op": "eq", "value": "x"}]}
    audience_save(audience=None, data={"name": "Gold", "kind": "segment", "rules": rules})
    assert list(RecipientImportForm().fields["audience"].queryset) == [static]
