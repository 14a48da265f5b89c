"""A member of staff's own time zone: theirs when they chose one, else the site's."""

from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser

from notifications.errors import InvalidInput
from notifications.models import StaffProfile
from notifications.staff import (
    RUSSIAN_ZONES,
    offered_time_zones,
    staff_time_zone,
    staff_time_zone_set,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("anna", password="pw", is_staff=True)


def test_a_person_who_chose_no_zone_sees_the_sites(settings, user):
    settings.TIME_ZONE = "Europe/Samara"
    assert staff_time_zone(user) == ZoneInfo("Europe/Samara")


def test_a_chosen_zone_is_kept_and_read_back(settings, user):
    settings.TIME_ZONE = "UTC"
    staff_time_zone_set(user=user, time_zone="Asia/Vladivostok")
    assert staff_time_zone(user) == ZoneInfo("Asia/Vladivostok")


def test_an_empty_zone_means_the_sites_again(settings, user):
    settings.TIME_ZONE = "Europe/Moscow"
    staff_time_zone_set(user=user, time_zone="Asia/Omsk")
    staff_time_zone_set(user=user, time_zone="")
    assert StaffProfile.objects.get(user=user).time_zone == ""
    assert staff_time_zone(user) == ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize("name", ["Europe/Atlantis", "../../etc/passwd", "localtime", "moscow"])
def test_an_unknown_zone_is_refused_on_its_field_and_nothing_is_kept(user, name):
    with pytest.raises(InvalidInput) as refusal:
        staff_time_zone_set(user=user, time_zone=name)
    assert list(refusal.value.error_dict) == ["time_zone"]
    assert "not a time zone this site knows" in str(refusal.value)
    assert not StaffProfile.objects.filter(user=user).exists()


def test_a_zone_the_system_no_longer_knows_falls_back_to_the_sites(settings, user):
    settings.TIME_ZONE = "Europe/Moscow"
    StaffProfile.objects.create(user=user, time_zone="Europe/Gone")
    assert staff_time_zone(user) == ZoneInfo("Europe/Moscow")


def test_nobody_signed_in_sees_the_sites_zone(settings):
    settings.TIME_ZONE = "Asia/Irkutsk"
    assert staff_time_zone(AnonymousUser()) == ZoneInfo("Asia/Irkutsk")


def test_russias_zones_are_offered_first_then_every_other_place():
    offered = offered_time_zones()
    assert offered[: len(RUSSIAN_ZONES)] == RUSSIAN_ZONES
    rest = offered[len(RUSSIAN_ZONES) : -1]
    assert rest == tuple(sorted(rest))
    assert "America/New_York" in rest
    assert "Europe/Moscow" not in rest
    assert not any(name.startswith("Etc/") for name in offered)
