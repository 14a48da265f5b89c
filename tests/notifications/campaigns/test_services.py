"""Draft campaigns: what makes their fields wrong."""

import pytest

from notifications.campaigns.services import campaign_errors
from tests.factories import make_template

pytestmark = pytest.mark.django_db


def test_a_template_the_channel_cannot_send_is_an_error_on_template():
    template = make_template(title="", body="Hi")
    errors = campaign_errors(
        channel="imshop", template=template, sendios_project_id=None, sendios_template_id=None
    )
    assert errors == {"template": [f"'{template}' cannot go out here: Imshop pushes need a title."]}


@pytest.mark.parametrize(("project", "template"), [(3, None), (None, 9)])
def test_the_sendios_ids_come_in_pairs(project, template):
    errors = campaign_errors(
        channel="imshop", template=None, sendios_project_id=project, sendios_template_id=template
    )
    assert errors == {
        "sendios_template_id": ["Give both the Sendios project id and template id, or neither."]
    }


def test_both_sendios_ids_or_neither_is_fine():
    assert (
        campaign_errors(
            channel="imshop", template=None, sendios_project_id=3, sendios_template_id=9
        )
        == {}
    )
