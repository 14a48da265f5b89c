"""What each member of staff chooses for themselves: the time zone their pages show times in and
their dates are read in.

A person with no zone of their own, or one the system no longer knows, sees the site's zone
(`settings.TIME_ZONE`).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone
from django.utils.translation import gettext

from notifications.errors import InvalidInput
from notifications.models import StaffProfile

# The zones of Russia, west to east: where most of the staff are, offered first.
RUSSIAN_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)

# Names the zone database carries for its own or for old systems' sake, not places to pick.
_NOT_OFFERED_PREFIXES = ("Etc/", "SystemV/", "posix/", "right/", "US/", "Canada/", "Brazil/")


@cache
def known_time_zones() -> frozenset[str]:
    """Every IANA zone name this system can read (`localtime` and `Factory` are not zones)."""
    return frozenset(available_timezones() - {"localtime", "Factory"})


@cache
def offered_time_zones() -> tuple[str, ...]:
    """The zones a person picks from: Russia's first, then every other place, A to Z, then UTC."""
    others = sorted(
        name
        for name in known_time_zones()
        if "/" in name and not name.startswith(_NOT_OFFERED_PREFIXES) and name not in RUSSIAN_ZONES
    )
    return (*RUSSIAN_ZONES, *others, "UTC")


def site_time_zone() -> ZoneInfo:
    """The site's zone, for staff who chose none."""
    return timezone.get_default_timezone()


def staff_time_zone(user: Any) -> ZoneInfo:
    """The zone `user` sees times in: their own, else the site's."""
    if not getattr(user, "is_authenticated", False):
        return site_time_zone()
    name = StaffProfile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    if name and name in known_time_zones():
        return ZoneInfo(name)
    return site_time_zone()


def staff_time_zone_set(*, user: Any, time_zone: str) -> StaffProfile:
    """Keep `time_zone` (an IANA name such as Europe/Moscow) as `user`'s own; empty means the
    site's zone. Raises InvalidInput on `time_zone` for a name that is not a zone."""
    name = (time_zone or "").strip()
    if name and name not in known_time_zones():
        raise InvalidInput(
            gettext(
                "'%(name)s' is not a time zone this site knows: choose one from the list, "
                "such as Europe/Moscow."
            )
            % {"name": name},
            field="time_zone",
        )
    profile, _ = StaffProfile.objects.update_or_create(user=user, defaults={"time_zone": name})
    return profile
