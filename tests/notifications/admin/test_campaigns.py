"""The campaigns' admin form: what a campaign needs, and that a dispatched one is frozen."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.audiences.services import audience_save, audience_sizes_rebuild
from notifications.models import (
    Audience,
    Campaign,
)
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_a_campaign_needs_a_template_that_fits_its_channel(staff):
    template = make_template(title="", body="Text only")
    audience = make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {"name": "Push", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
    )
    assert "cannot go out here: Imshop pushes need a title." in response.content.decode()
    assert not Campaign.objects.exists()


# What the form's frequency caps fields send as a new campaign's page shows them.
CAPS_AS_SENT = {"caps_on": "on", "capped_action": "defer"}


def test_a_campaign_records_who_created_it(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {
            "name": "Push",
            "channel": "imshop",
            "template": template.pk,
            "audiences": [audience.pk],
            **CAPS_AS_SENT,
        },
    )
    assert response.status_code == 302
    assert Campaign.objects.get().created_by.username == "admin"


def test_sendios_ids_come_in_pairs(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {
            "name": "Push",
            "channel": "imshop",
            "template": template.pk,
            "audiences": [audience.pk],
            "sendios_project_id": "99",
        },
    )
    assert "Give both the Sendios project id and template id, or neither." in (
        response.content.decode()
    )


def test_a_dispatched_campaign_cannot_be_edited(staff):
    campaign = make_campaign(make_audience(), status=Campaign.Status.RUNNING, name="Frozen")
    other = make_template(name="Other")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    staff.post(url, {"name": "Changed", "channel": "bitrix24", "template": other.pk})
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel) == ("Frozen", "imshop")


def _post(staff, **fields):
    data = {
        "name": "Push",
        "channel": "imshop",
        "template": make_template().pk,
        **CAPS_AS_SENT,
        **fields,
    }
    return staff.post(reverse("admin:notifications_campaign_add"), data)


def test_a_campaign_excludes_the_audiences_chosen_under_excluded_audiences(staff):
    buyers, staff_list = make_audience(name="Buyers"), make_audience(name="Staff")
    response = _post(staff, audiences=[buyers.pk], excluded_audiences=[staff_list.pk])
    assert response.status_code == 302
    assert [a.name for a in Campaign.objects.get().excluded_audiences.all()] == ["Staff"]


def test_an_audience_both_included_and_excluded_is_an_error_beside_the_exclusions(staff):
    buyers = make_audience(name="Buyers")
    response = _post(staff, audiences=[buyers.pk], excluded_audiences=[buyers.pk])
    assert response.context["adminform"].form.errors == {
        "excluded_audiences": [
            "'Buyers' cannot be both a campaign's audience and excluded from it."
        ]
    }
    assert not Campaign.objects.exists()


def test_saving_a_campaign_counts_its_people(staff):
    buyers = make_audience(make_recipient(), make_recipient(), name="Buyers")
    _post(staff, audiences=[buyers.pk])
    assert Campaign.objects.get().people_counts["people"] == 2


def test_a_static_audience_is_offered_with_its_kept_size(staff):
    make_audience(make_recipient(), make_recipient(), name="Buyers")
    audience_sizes_rebuild()
    html = staff.get(reverse("admin:notifications_campaign_add")).content.decode()
    assert ">Buyers (2 people)</option>" in html


def test_a_segment_is_offered_with_its_kept_size_and_its_age(staff):
    make_recipient(attributes={"city": "Kazan"})
    segment = audience_save(
        audience=None,
        data={
            "name": "Kazan",
            "kind": "segment",
            "rules": {
                "match": "all",
                "rules": [{"field": "attributes.city", "op": "eq", "value": "Kazan"}],
            },
        },
    )
    Audience.objects.filter(pk=segment.pk).update(
        size_counted_at=timezone.now() - timedelta(minutes=5, seconds=10)
    )
    html = staff.get(reverse("admin:notifications_campaign_add")).content.decode()
    assert ">Kazan (segment, ≈ 1, counted 5 min ago)</option>" in html


def test_audience_choices_are_not_counted_on_view(staff):
    buyers = make_audience(make_recipient(), name="Buyers")
    Audience.objects.filter(pk=buyers.pk).update(size=7)  # the kept size, not the members
    html = staff.get(reverse("admin:notifications_campaign_add")).content.decode()
    assert ">Buyers (7 people)</option>" in html
