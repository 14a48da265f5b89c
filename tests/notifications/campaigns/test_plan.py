"""Requests and time a send takes: Imshop pushes share a request only when their text is the
same, so the estimate counts distinct texts, not recipients."""

import json
import time
from datetime import timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from notifications.admin.desk import campaign_desk, campaign_live
from notifications.audiences.services import audience_save
from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.campaigns.people import PEOPLE_COUNT_MAX_AGE, campaign_people_count
from notifications.campaigns.plan import (
    ESTIMATE_SAMPLE_BATCHES,
    campaign_missing_variables,
    campaign_send_plan,
    send_eta_seconds,
)
from notifications.campaigns.selectors import campaign_people, campaign_progress
from notifications.campaigns.time_left import campaign_time_left
from notifications.models import (
    AudienceMember,
    Campaign,
    Delivery,
    DeliveryEvent,
    Recipient,
    RecipientAttribute,
)
from notifications.providers.limits import Limits
from notifications.reasons import reason_encode
from notifications.recipients.selectors import Reach, recipients_by_reach
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import (
    LEADCONVERTER_SEND,
    dispatched,
    people,
    send_all,
    use_test_providers,
)

AUDIENCE = 2584  # the draft the issue was found with: three requests of up to 1,000 ids


@pytest.fixture(autouse=True)
def imshop(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "key"


def imshop_campaign(
    title: str, attributes=lambda index: {}, size: int = AUDIENCE, **recipient_fields
) -> Campaign:
    people = Recipient.objects.bulk_create(
        Recipient(external_id=f"c-{index}", attributes=attributes(index), **recipient_fields)
        for index in range(size)
    )
    names = {name for person in people for name in person.attributes}
    RecipientAttribute.objects.bulk_create(RecipientAttribute(name=name) for name in names)
    audience = make_audience()
    AudienceMember.objects.bulk_create(
        AudienceMember(audience=audience, recipient=person) for person in people
    )
    template = make_template(title=title, body="Sale today")
    return make_campaign(audience, channel="imshop", template=template)


@pytest.mark.django_db
def test_a_variable_everyone_shares_sends_in_three_requests_not_one_per_recipient():
    campaign = imshop_campaign("Hello {{ city }}", lambda index: {"city": "Moscow"})
    plan = campaign_desk(campaign)["plan"]
    assert plan.reachable == AUDIENCE
    assert plan.requests == 3
    # Three requests at 10 a minute, the first at once: seconds, not the 15,498 s of one each.
    assert plan.eta_seconds == pytest.approx(12.0)
    assert plan.personalised_by == ()


@pytest.mark.django_db
def test_a_default_that_nobody_overrides_renders_the_same_for_everyone():
    campaign = imshop_campaign("Hi {{ first_name | default: 'friend' }}")
    assert campaign_desk(campaign)["plan"].requests == 3


@pytest.mark.django_db
def test_requests_are_counted_per_claimed_batch_of_recipients_in_id_order():
    # 1,500 in Moscow, then 1,084 in Kazan: batches of 1,000 hold {M}, {M, K} and {K}.
    campaign = imshop_campaign(
        "{{ city }} sale", lambda index: {"city": "Moscow" if index < 1500 else "Kazan"}
    )
    assert campaign_desk(campaign)["plan"].requests == 4


@pytest.mark.django_db
def test_values_that_alternate_cost_a_request_each_per_batch():
    campaign = imshop_campaign("{{ tier }}", lambda index: {"tier": ["gold", "silver"][index % 2]})
    assert campaign_desk(campaign)["plan"].requests == 6


@pytest.mark.django_db
def test_beyond_the_sampled_batches_the_texts_per_batch_are_scaled_to_the_audience():
    assert ESTIMATE_SAMPLE_BATCHES == 10
    # 12,500 recipients: ten batches are counted (two tiers each), 13 batches need 2 each
    # but the last half batch, scaled: 2 * 12.5 = 25.
    campaign = imshop_campaign(
        "{{ tier }}", lambda index: {"tier": ["gold", "silver"][index % 2]}, size=12_500
    )
    assert campaign_desk(campaign)["plan"].requests == 25


@pytest.mark.django_db
def test_a_variable_that_differs_for_everyone_is_named_with_its_cost_and_the_way_out():
    campaign = imshop_campaign("Hi {{ nickname }}", lambda index: {"nickname": f"n{index}"})
    desk = campaign_desk(campaign)
    assert desk["plan"].requests == AUDIENCE
    assert desk["plan"].personalised_by == ("nickname",)
    [warning] = [w for w in desk["warnings"] if "request of its own" in w]
    assert warning.startswith("{{ nickname }} makes the Imshop pushes differ")
    assert "2,584 requests" in warning
    assert "instead of 3" in warning
    assert "keep {{ nickname }} out of the title, body, deeplink" in warning


@pytest.mark.django_db
def test_only_the_variables_that_differ_are_named():
    campaign = imshop_campaign(
        "{{ city }}: hi {{ nickname }}", lambda index: {"city": "Omsk", "nickname": f"n{index}"}
    )
    assert campaign_desk(campaign)["plan"].personalised_by == ("nickname",)


@pytest.mark.django_db
def test_a_variable_some_recipients_lack_differs_too():
    campaign = imshop_campaign(
        "Hi {{ nickname | default: 'friend' }}", lambda index: {"nickname": "Kit"} if index else {}
    )
    assert campaign_desk(campaign)["plan"].personalised_by == ("nickname",)


@pytest.mark.django_db
def test_own_fields_count_as_the_recipient_sees_them():
    campaign = imshop_campaign("Hi {{ last_name }}", last_name="Ivanova")
    assert campaign_desk(campaign)["plan"].requests == 3


@pytest.mark.django_db
def test_variables_only_in_fields_the_channel_does_not_send_cost_nothing():
    campaign = imshop_campaign("Sale")
    campaign.template.file_uuid = "{{ nickname }}"
    campaign.template.save()
    assert campaign_desk(campaign)["plan"].requests == 3


@pytest.mark.django_db
def test_a_channel_that_batches_any_texts_is_not_multiplied(settings):
    settings.LEADCONVERTER_API_URL = "https://leadconverter.test/api/v1"
    settings.LEADCONVERTER_TOKEN = "token"
    eta = send_eta_seconds(
        channel="leadconverter", content={"body": "Hi {{ nickname }}"}, messages=250
    )
    per_request = send_eta_seconds(channel="leadconverter", content={"body": "Hi"}, messages=250)
    assert eta == per_request


@pytest.mark.django_db
def test_time_left_of_a_dispatched_campaign_counts_the_texts_still_to_send(
    django_capture_on_commit_callbacks,
):
    campaign = imshop_campaign("Hello {{ city }}", lambda index: {"city": "Moscow"})
    with django_capture_on_commit_callbacks(execute=False):
        campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    live = campaign_live(campaign)
    assert live["left"] == AUDIENCE
    assert live["eta_seconds"] == pytest.approx(12.0)


@pytest.mark.django_db
def test_the_api_gives_a_draft_the_same_estimate_as_the_send_plan(admin_client):
    campaign = imshop_campaign("Hello {{ city }}", lambda index: {"city": "Moscow"})
    answer = admin_client.get(reverse("api:campaign-stats", args=[campaign.pk]))
    assert answer.status_code == 200, answer.content
    assert answer.json()["eta_seconds"] == pytest.approx(12.0)


@pytest.mark.django_db
def test_time_left_is_counted_once_a_minute_and_scaled_to_what_is_left(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    campaign = imshop_campaign("Hi {{ nickname }}", lambda index: {"nickname": f"n{index}"})
    with django_capture_on_commit_callbacks(execute=False):
        campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    content = dict(campaign.content)
    first = send_eta_seconds(
        channel="imshop", content=content, messages=AUDIENCE, campaign=campaign
    )
    with django_assert_num_queries(0):  # later polls, with fewer left, count nothing again
        later = send_eta_seconds(
            channel="imshop", content=content, messages=AUDIENCE // 2, campaign=campaign
        )
    # One request each: 2,584 then 1,292 requests at 10 a minute, the first at once.
    assert first == pytest.approx((AUDIENCE - 1) * 6)
    assert later == pytest.approx((AUDIENCE // 2 - 1) * 6)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Campaign.Status.COMPLETED, Campaign.Status.CANCELLED])
def test_an_ended_campaign_has_no_time_left(status):
    campaign = imshop_campaign("Hi", size=3)
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    progress = campaign_progress(campaign_id=campaign.pk)
    assert campaign_time_left(campaign=campaign, progress=progress) == 0.0


@pytest.mark.django_db
def test_a_campaign_going_slower_than_its_limits_for_a_minute_is_timed_at_its_pace(
    django_capture_on_commit_callbacks, admin_client
):
    campaign = imshop_campaign("Sale", size=30)
    with django_capture_on_commit_callbacks(execute=False):
        campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    # Running for two minutes: the last minute's pace is a measure, not a start-up blip.
    Campaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now() - timedelta(minutes=2))
    campaign.refresh_from_db()
    sent = list(campaign.deliveries.order_by("id")[:10])
    now = timezone.now()
    # Answers are read where they are kept: a send's time on its row, a failure's event.
    for index, delivery in enumerate(sent):
        at = now - timedelta(seconds=6 * index)
        if index % 3 == 2:
            DeliveryEvent.objects.create(
                type=DeliveryEvent.Type.FAILED,
                campaign=campaign,
                delivery=delivery,
                recipient_id=delivery.recipient_id,
                occurred_at=at,
            )
        else:
            Delivery.objects.filter(pk=delivery.pk).update(sent_at=at)
    # 30 left at the pace of 10 answers in 54 s (the limits would allow one request, at once):
    # 162 s, on the desk and in the API alike, said to be the pace.
    live = campaign_live(campaign)
    assert live["eta_seconds"] == pytest.approx(162.0, rel=0.02)  # 10 answers over 54 s
    assert live["eta_basis"] == "at the current pace of 11/min"
    answer = admin_client.get(reverse("api:campaign-stats", args=[campaign.pk]))
    assert answer.json()["eta_seconds"] == pytest.approx(162.0, rel=0.02)


# --- People counts: distinct across audiences, by materialisation's rules, kept with age ----


def _segment(name, rules):
    return audience_save(audience=None, data={"name": name, "kind": "segment", "rules": rules})


def _city_is(city):
    return {"match": "all", "rules": [{"field": "attributes.city", "op": "eq", "value": city}]}


@pytest.fixture
def mixed_campaign():
    """A LeadConverter draft for a static list and a segment that overlap, excluding one list:
    2 reachable, 1 excluded (also opted out), 1 opted out, 1 without an address."""

    def person(name, **fields):
        fields.setdefault("addresses", {"leadconverter": name})
        return make_recipient(external_id=name, attributes={"city": "Kazan"}, **fields)

    reached, both = person("reached"), person("both")
    excluded = person("excluded", opted_out_at=timezone.now())
    person("opted-out", opted_out_at=timezone.now())
    person("nowhere", addresses={})
    campaign = make_campaign(
        make_audience(reached, both, excluded),
        _segment("Kazan", _city_is("Kazan")),  # everyone, "both" and "reached" again
        channel="leadconverter",
        template=make_template(body="Hi"),
    )
    # "opted-out" and "nowhere" are in the campaign through the segment only.
    campaign.excluded_audiences.set([make_audience(excluded, name="Staff")])
    return campaign


@pytest.mark.django_db
def test_the_send_plan_counts_each_person_once_across_lists_and_segments(mixed_campaign):
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    assert plan.people == 5


@pytest.mark.django_db
def test_the_send_plan_gives_each_skipped_person_one_reason_in_materialisations_order(
    mixed_campaign,
):
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    counts = (plan.reachable, plan.excluded, plan.opted_out, plan.no_address)
    assert counts == (2, 1, 1, 1)


@pytest.mark.django_db
@pytest.mark.usefixtures("test_providers")
def test_the_send_plan_counts_what_materialisation_then_does(mixed_campaign):
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    campaign_dispatch(campaign_id=mixed_campaign.pk)
    campaign_materialise(campaign_id=mixed_campaign.pk)
    deliveries = Delivery.objects.filter(campaign=mixed_campaign)
    skipped = deliveries.filter(status="skipped")
    assert {
        "reachable": deliveries.filter(status="pending").count(),
        "excluded": skipped.filter(error=reason_encode("excluded_by", audience="Staff")).count(),
        "opted_out": skipped.filter(error=reason_encode("opted_out")).count(),
        "no_address": skipped.filter(
            error=reason_encode("no_address", channel="leadconverter")
        ).count(),
    } == {
        "reachable": plan.reachable,
        "excluded": plan.excluded,
        "opted_out": plan.opted_out,
        "no_address": plan.no_address,
    }


@pytest.mark.django_db
def test_each_number_of_the_send_plan_is_the_count_of_its_reach(mixed_campaign):
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    people = campaign_people(mixed_campaign)
    excluded = mixed_campaign.excluded_audiences.all()
    for reach in Reach:
        rows = recipients_by_reach(people, "leadconverter", reach, excluded=excluded)
        assert rows.count() == getattr(plan, reach.value), reach


@pytest.mark.django_db
def test_a_pages_send_plan_reads_the_kept_counts_while_they_are_recent(mixed_campaign):
    campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    mixed_campaign.audiences.first().members.add(make_recipient_on_leadconverter())
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    assert plan.people == 5


@pytest.mark.django_db
def test_kept_counts_older_than_a_few_minutes_are_counted_again(mixed_campaign):
    campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    mixed_campaign.audiences.first().members.add(make_recipient_on_leadconverter())
    mixed_campaign.people_counted_at -= PEOPLE_COUNT_MAX_AGE + timedelta(seconds=1)
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    assert plan.people == 6


@pytest.mark.django_db
def test_counts_kept_for_another_channel_are_counted_again(mixed_campaign):
    campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    mixed_campaign.channel = "imshop"  # addresses people by external_id: everyone has one
    plan = campaign_send_plan(campaign=mixed_campaign, content={"body": "Hi"})
    assert plan.no_address == 0


@pytest.mark.django_db
def test_counting_keeps_the_counts_on_the_campaign_with_their_time(mixed_campaign):
    counts = campaign_people_count(campaign=mixed_campaign)
    kept = Campaign.objects.get(pk=mixed_campaign.pk)
    assert kept.people_counts["people"] == counts.people == 5
    assert kept.people_counted_at == counts.counted_at


@pytest.mark.django_db
def test_time_left_of_a_draft_is_for_its_reachable_people(settings):
    settings.YANDEX_MARKET_API_KEY = "key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    chats = [make_recipient(addresses={"yandex_market": str(n)}) for n in range(3)]
    campaign = make_campaign(make_audience(*chats), channel="yandex_market")
    campaign.excluded_audiences.set([make_audience(chats[0])])
    progress = campaign_progress(campaign_id=campaign.pk)
    # Two chats at 1,000 an hour, the first at once: 3.6 s (three would take 7.2).
    assert campaign_time_left(campaign=campaign, progress=progress) == pytest.approx(3.6)


@pytest.mark.django_db
def test_missing_variables_are_counted_among_the_first_reachable_recipients():
    campaign = imshop_campaign("Hi", lambda index: {"city": "Kazan"} if index % 2 else {}, size=10)
    missing = campaign_missing_variables(
        campaign=campaign, content={"body": "{{ city }}"}, sample=4
    )
    # Recipients 0 to 3 are read; 0 and 2 have no city.
    assert [(m.name, m.recipients, m.read) for m in missing] == [("city", 2, 4)]


def make_recipient_on_leadconverter():
    return make_recipient(attributes={"city": "Kazan"}, addresses={"leadconverter": "new"})


# --- Time left while sending: the plan's estimate at the limit, the pace below it ----------


@pytest.fixture
def limited_leadconverter(settings):
    """LeadConverter at 20 requests a second, one message each: 400 people take 20 s."""
    use_test_providers(settings)
    settings.LEADCONVERTER_RATE = "20/s"
    settings.LEADCONVERTER_BURST = 1
    settings.LEADCONVERTER_BATCH_SIZE = 1


def _time_left_on_the_page(client, campaign) -> dict:
    return client.get(reverse("admin:notifications_campaign_progress", args=[campaign.pk])).json()


@pytest.mark.django_db
def test_time_left_while_sending_at_the_limit_agrees_with_the_plan(
    limited_leadconverter, mocked, admin_client
):
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    campaign = dispatched("leadconverter", people(400), body="Hi {{ first_name }}")
    send_all(campaign, budget=6)
    progress = campaign_progress(campaign_id=campaign.pk)
    left = progress["pending"] + progress["sending"]
    assert 200 < left < 340  # about 120 sent in 6 s at 20 a second
    live = _time_left_on_the_page(admin_client, campaign)
    plan = Limits(batch_size=1, rate="20/s").min_duration(left).total_seconds()
    assert live["eta_seconds"] == pytest.approx(plan, rel=0.10)
    assert live["eta_basis"] == "at the provider's limit of 20/second"


@pytest.mark.django_db
def test_time_left_from_a_provider_slower_than_its_limit_is_its_pace(
    limited_leadconverter, mocked, admin_client
):
    def slow(request):
        time.sleep(0.2)  # five answers a second where the limit allows twenty
        return 200, {}, json.dumps({"result": "ok"})

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=slow)
    campaign = dispatched("leadconverter", people(400), body="Hi {{ first_name }}")
    send_all(campaign, budget=6)
    progress = campaign_progress(campaign_id=campaign.pk)
    left = progress["pending"] + progress["sending"]
    live = _time_left_on_the_page(admin_client, campaign)
    plan = Limits(batch_size=1, rate="20/s").min_duration(left).total_seconds()
    assert live["eta_seconds"] > 2.5 * plan
    assert live["eta_basis"].startswith("at the current pace of ")
