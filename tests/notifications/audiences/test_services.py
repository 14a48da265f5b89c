"""Writing audiences: kinds, kept sizes, members by query, deletion, follow-ups."""

import pytest

from notifications.audiences.follow_up import (
    Outcome,
    audience_follow_up_create,
    follow_up_name,
    follow_up_people,
)
from notifications.audiences.services import (
    audience_delete,
    audience_members_add,
    audience_members_change,
    audience_members_remove,
    audience_save,
    audience_size_count,
    audience_sizes_rebuild,
    recipient_audiences_set,
)
from notifications.errors import InvalidInput, StateConflict
from notifications.models import Audience, AudienceMember, Delivery, DeliveryEvent, Recipient
from notifications.recipients.reading import RecipientRow
from notifications.recipients.services import recipient_delete
from notifications.recipients.upsert import recipients_import
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db

EVERYONE = {"match": "all", "rules": [{"field": "opted_out", "op": "is_false"}]}


def segment(name: str = "Segment", rules: dict = EVERYONE) -> Audience:
    return audience_save(audience=None, data={"name": name, "kind": "segment", "rules": rules})


def kept_size(audience: Audience) -> int:
    return Audience.objects.get(pk=audience.pk).size


def test_a_segment_is_counted_when_saved_and_recounted_on_demand():
    make_recipient()
    everyone = segment()
    assert (everyone.size, everyone.size_counted_at is not None) == (1, True)
    make_recipient()
    assert kept_size(everyone) == 1  # a count with its age, not a live one
    assert audience_size_count(audience=everyone) == 2
    assert kept_size(everyone) == 2


def test_a_segment_with_bad_rules_is_not_saved():
    with pytest.raises(InvalidInput) as refused:
        audience_save(audience=None, data={"name": "Bad", "kind": "segment", "rules": None})
    assert "rules" in refused.value.message_dict
    assert not Audience.objects.exists()


def test_the_kind_is_chosen_once_and_a_static_list_has_no_rules():
    static = audience_save(audience=None, data={"name": "List"})
    with pytest.raises(InvalidInput) as refused:
        audience_save(audience=static, data={"kind": "segment", "rules": EVERYONE})
    assert refused.value.message_dict == {
        "kind": ["An audience's kind is chosen when it is made: make a new audience instead."]
    }
    with pytest.raises(InvalidInput) as refused:
        audience_save(audience=None, data={"name": "Other", "rules": EVERYONE})
    assert refused.value.message_dict == {"rules": ["A static list has members, not rules."]}
    assert audience_save(audience=None, data={"name": "Plain", "rules": {}}).rules is None


def test_members_added_and_removed_by_query_keep_the_size_exact():
    people = [make_recipient(external_id=f"p{n}") for n in range(5)]
    vip = make_audience(people[0], name="VIP")
    added = audience_members_add(audience=vip, recipients=Recipient.objects.all())
    assert (added, kept_size(vip)) == (4, 5)
    removed = audience_members_remove(
        audience=vip, recipients=Recipient.objects.filter(external_id__in=["p1", "p2", "nobody"])
    )
    assert (removed, kept_size(vip)) == (2, 3)
    assert audience_members_change(audience=vip, add=["p1"], remove=["p3"]) == {
        "added": 1,
        "removed": 1,
    }
    assert kept_size(vip) == AudienceMember.objects.filter(audience=vip).count() == 3


def test_a_segment_has_no_members_to_change():
    everyone = segment()
    for change in (audience_members_add, audience_members_remove):
        with pytest.raises(InvalidInput):
            change(audience=everyone, recipients=Recipient.objects.all())


def test_an_import_and_a_deletion_keep_the_size_exact():
    vip = make_audience(name="VIP")
    rows = [RecipientRow(line=n, external_id=f"i{n}") for n in range(2, 6)]
    recipients_import(rows=rows, audience=vip)
    recipients_import(rows=rows[:2], audience=vip)  # members already: nothing to add
    assert kept_size(vip) == 4
    recipient_delete(recipient=Recipient.objects.get(external_id="i2"))
    assert kept_size(vip) == AudienceMember.objects.filter(audience=vip).count() == 3


def test_an_import_into_a_segment_is_refused():
    with pytest.raises(InvalidInput):
        recipients_import(rows=[RecipientRow(line=2, external_id="x")], audience=segment())


def test_a_drifted_size_is_rebuilt_from_the_members():
    vip = make_audience(make_recipient(), make_recipient(), name="VIP")
    Audience.objects.filter(pk=vip.pk).update(size=7)
    assert audience_sizes_rebuild() == 1
    assert kept_size(vip) == 2


def test_a_recipients_static_audiences_are_set_on_their_page():
    anna = make_recipient()
    old, new = make_audience(anna, name="Old"), make_audience(name="New")
    recipient_audiences_set(recipient=anna, audiences=[new])
    assert list(anna.audiences.values_list("name", flat=True)) == ["New"]
    assert (kept_size(old), kept_size(new)) == (0, 1)
    with pytest.raises(InvalidInput):
        recipient_audiences_set(recipient=anna, audiences=[segment()])


def test_an_audience_a_segment_includes_or_a_sent_campaign_excluded_stays():
    vip = make_audience(name="VIP")
    segment(
        "Uses VIP", {"match": "all", "rules": [{"field": "audience", "op": "in", "value": vip.pk}]}
    )
    with pytest.raises(StateConflict, match="segment 'Uses VIP' includes it"):
        audience_delete(audience=vip)
    banned = make_audience(name="Banned")
    campaign = make_campaign(make_audience(), name="Spring", status="running")
    campaign.excluded_audiences.set([banned])
    with pytest.raises(StateConflict, match="campaign 'Spring' went out excluding it"):
        audience_delete(audience=banned)


def test_follow_ups_hold_the_recipients_of_each_outcome():
    campaign = make_campaign(name="Spring", channel="leadconverter")
    people = {name: make_recipient(external_id=name) for name in "abcdef"}
    outcomes = ["failed", "failed", "skipped", "unknown", "sent", "sent"]
    for name, status in zip("abcdef", outcomes, strict=True):
        Delivery.objects.create(campaign=campaign, recipient=people[name], status=status)
    DeliveryEvent.objects.create(
        type="sms_click", campaign=campaign, recipient=people["f"], sms_id=1
    )

    def holds(outcome):
        found = follow_up_people(campaign=campaign, outcome=outcome)
        return sorted(found.values_list("external_id", flat=True))

    assert holds(Outcome.FAILED) == ["a", "b"]
    assert holds(Outcome.SKIPPED) == ["c"]
    assert holds(Outcome.UNKNOWN) == ["d"]
    assert holds(Outcome.SENT) == ["e", "f"]
    assert holds(Outcome.SENT_NOT_CLICKED) == ["e"]
    assert holds(Outcome.CLICKED) == ["f"]
    name = follow_up_name(campaign=campaign, outcome=Outcome.FAILED)
    audience = audience_follow_up_create(campaign=campaign, outcome=Outcome.FAILED, name=name)
    assert (audience.name, audience.kind, audience.size) == ("Spring: failed", "static", 2)
    assert sorted(audience.members.values_list("external_id", flat=True)) == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_and_removes_keep_the_size_equal_to_the_members(postgres_only):
    import threading

    from django.db import connection

    people = [make_recipient(external_id=f"c{n}") for n in range(60)]
    vip = make_audience(*people[:20], name="VIP")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def change(step: int) -> None:
        try:
            start.wait()
            for offset in range(0, 60, 10):
                chosen = Recipient.objects.filter(
                    pk__in=[p.pk for p in people[offset : offset + 15]]
                )
                if (offset // 10 + step) % 2:
                    audience_members_add(audience=vip, recipients=chosen)
                else:
                    audience_members_remove(audience=vip, recipients=chosen)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert kept_size(vip) == AudienceMember.objects.filter(audience=vip).count()
