"""Draft campaigns: what makes their fields wrong, and scheduling one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.services import campaign_errors, campaign_save, campaign_schedule
from notifications.errors import InvalidInput
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import use_test_providers

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


def test_scheduling_for_a_past_time_is_refused_on_scheduled_at_and_changes_nothing():
    campaign = make_campaign(make_audience(make_recipient()))
    with pytest.raises(InvalidInput) as refused:
        campaign_schedule(campaign_id=campaign.pk, scheduled_at=timezone.now())
    assert refused.value.message_dict == {
        "scheduled_at": ["Choose a time in the future, or dispatch now."]
    }
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_scheduling_for_a_future_time_schedules(settings, django_capture_on_commit_callbacks):
    use_test_providers(settings)
    campaign = make_campaign(make_audience(make_recipient()))
    later = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=False):
        scheduled = campaign_schedule(campaign_id=campaign.pk, scheduled_at=later)
    assert (scheduled.status, scheduled.scheduled_at) == ("scheduled", later)


def test_an_audience_both_included_and_excluded_is_refused_on_excluded_audiences():
    audience = make_audience(make_recipient(), name="Buyers")
    campaign = make_campaign(audience)
    with pytest.raises(InvalidInput) as refused:
        campaign_save(campaign_id=campaign.pk, data={}, excluded_audiences=[audience])
    assert refused.value.message_dict == {
        "excluded_audiences": [
            "'Buyers' cannot be both a campaign's audience and excluded from it."
        ]
    }
    assert not campaign.excluded_audiences.exists()


def test_changing_a_drafts_audiences_counts_its_people_again():
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_save(
        campaign_id=campaign.pk,
        data={},
        audiences=[make_audience(make_recipient(), make_recipient())],
    )
    campaign.refresh_from_db()
    assert campaign.people_counts["people"] == 2
