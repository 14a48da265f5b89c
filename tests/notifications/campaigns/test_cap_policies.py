"""The site's frequency caps as staff save them: checked, one per channel and period, and
who changed them kept."""

import threading

import pytest
from django.db import connection

from notifications.campaigns.cap_policies import (
    frequency_cap_delete,
    frequency_cap_save,
)
from notifications.errors import InvalidInput, NotFound
from notifications.models import CountedSend, FrequencyCap
from tests.notifications.flows import LEADCONVERTER_SEND, dispatched, people, send_all, statuses

pytestmark = pytest.mark.django_db

DAY, WEEK = FrequencyCap.Period.DAY, FrequencyCap.Period.WEEK


def test_a_new_cap_is_saved_with_who_added_it(admin_user):
    cap = frequency_cap_save(
        cap_id=None, data={"limit": 2, "period": DAY, "channel": "imshop"}, user=admin_user
    )
    cap.refresh_from_db()
    assert (cap.limit, cap.period, cap.channel, cap.active) == (2, DAY, "imshop", True)
    assert cap.updated_by == admin_user
    assert cap.describe() == "2 a day on Imshop push"


@pytest.mark.parametrize("limit", [0, -1, 1001, None, "3", True])
def test_a_limit_outside_1_to_1000_is_an_error_on_limit(limit):
    with pytest.raises(InvalidInput) as refused:
        frequency_cap_save(cap_id=None, data={"limit": limit, "period": WEEK, "channel": ""})
    assert list(refused.value.message_dict) == ["limit"]
    assert "1 to 1000" in str(refused.value)
    assert not FrequencyCap.objects.exists()


@pytest.mark.parametrize("limit", [1, 1000])
def test_the_limits_edges_are_allowed(limit):
    assert frequency_cap_save(cap_id=None, data={"limit": limit, "period": WEEK}).limit == limit


def test_a_second_cap_on_one_channel_and_period_names_the_first():
    frequency_cap_save(cap_id=None, data={"limit": 5, "period": WEEK, "channel": ""})
    with pytest.raises(InvalidInput) as refused:
        frequency_cap_save(cap_id=None, data={"limit": 3, "period": WEEK, "channel": None})
    assert list(refused.value.message_dict) == ["period"]
    assert "5 a week across all channels" in str(refused.value)
    assert FrequencyCap.objects.count() == 1


def test_a_change_into_another_caps_channel_and_period_is_refused():
    frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY, "channel": "imshop"})
    weekly = frequency_cap_save(cap_id=None, data={"limit": 4, "period": WEEK, "channel": "imshop"})
    with pytest.raises(InvalidInput) as refused:
        frequency_cap_save(cap_id=weekly.pk, data={"period": DAY})
    assert "2 a day on Imshop push" in refused.value.message_dict["period"][0]
    weekly.refresh_from_db()
    assert weekly.period == WEEK


def test_a_cap_keeps_its_own_channel_and_period_when_its_limit_changes(admin_user):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY, "channel": "imshop"})
    frequency_cap_save(cap_id=cap.pk, data={"limit": 3, "active": False}, user=admin_user)
    cap.refresh_from_db()
    assert (cap.limit, cap.active, cap.updated_by) == (3, False, admin_user)


@pytest.mark.parametrize(("field", "value"), [("period", "month"), ("channel", "carrier_pigeon")])
def test_a_period_or_channel_the_model_does_not_know_is_an_error_on_it(field, value):
    data = {"limit": 2, "period": DAY, "channel": "", field: value}
    with pytest.raises(InvalidInput) as refused:
        frequency_cap_save(cap_id=None, data=data)
    assert list(refused.value.message_dict) == [field]


def test_a_deleted_cap_is_gone_and_a_second_deletion_says_so():
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY})
    frequency_cap_delete(cap_id=cap.pk)
    assert not FrequencyCap.objects.exists()
    with pytest.raises(NotFound):
        frequency_cap_delete(cap_id=cap.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once")
def test_two_people_adding_the_same_cap_at_once_get_a_field_error_not_a_500():
    """Both pass the check before either commits; the unique constraint refuses the second,
    which reads as the same sentence on `period`."""
    checked = threading.Barrier(2)
    results: list[object] = []

    original = FrequencyCap.objects.filter

    def add() -> None:
        try:
            results.append(
                frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY, "channel": ""})
            )
        except InvalidInput as exc:
            results.append(exc)
        finally:
            connection.close()

    def filter_then_wait(*args, **kwargs):
        found = original(*args, **kwargs)
        me = threading.get_ident()
        if kwargs.get("period") == DAY and me not in looked:
            # The check, once per person: both look before either writes.
            looked.add(me)
            list(found)
            checked.wait(timeout=10)
        return found

    looked: set[int] = set()
    FrequencyCap.objects.filter = filter_then_wait
    try:
        threads = [threading.Thread(target=add) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        del FrequencyCap.objects.filter
    refusals = [r for r in results if isinstance(r, InvalidInput)]
    assert len(results) == 2
    assert len(refusals) == 1
    assert list(refusals[0].message_dict) == ["period"]
    assert FrequencyCap.objects.count() == 1


@pytest.mark.usefixtures("test_providers")
def test_a_cap_made_or_turned_on_counts_the_weeks_messages_on_its_channel(
    mocked, django_capture_on_commit_callbacks
):
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    ann, bob = people(2)
    send_all(dispatched("leadconverter", [ann, bob]))
    # No policy yet: the send path counted nothing.
    assert not CountedSend.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        other = frequency_cap_save(
            cap_id=None, data={"limit": 1, "period": DAY, "channel": "imshop"}
        )
    assert not CountedSend.objects.exists()
    frequency_cap_save(cap_id=other.pk, data={"active": False})
    with django_capture_on_commit_callbacks(execute=True) as counting:
        frequency_cap_save(cap_id=other.pk, data={"channel": "leadconverter", "active": True})
    # Once committed.
    assert len(counting) == 1
    assert set(CountedSend.objects.values_list("recipient_id", flat=True)) == {ann.pk, bob.pk}
    second = dispatched("leadconverter", [ann])
    send_all(second)
    assert statuses(second) == {"pending": 1}
