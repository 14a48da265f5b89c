"""Fixtures for the tests that follow a campaign through its life (see `flows.py`)."""

from datetime import datetime, timedelta

import pytest
import responses
from django.utils import timezone

from notifications.models import FrequencyCap
from tests.notifications.flows import (
    LEADCONVERTER_SEND,
    NOON,
    dispatched,
    people,
    send_all,
    use_test_providers,
)


@pytest.fixture
def test_providers(settings):
    """Imshop and LeadConverter configured for the flow tests (`flows.use_test_providers`)."""
    use_test_providers(settings)


@pytest.fixture
def mocked():
    """The providers' HTTP, answered by `responses` as each test registers."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def product_window(settings):
    """The site's window as a new install starts with it (the suite starts with none, see
    tests/settings.py)."""
    settings.SEND_WINDOW_DEFAULT = "10:00-21:00"


@pytest.fixture
def frozen(monkeypatch):
    """A function that sets the clock every `timezone.now()` reads to an instant."""

    def freeze(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return freeze


@pytest.fixture
def at_the_cap(frozen, mocked):
    """A cap of 1 a day; Ann and Bob were sent a message at noon, Cid nothing. Now 13:00."""
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    FrequencyCap.objects.create(limit=1, period="day")
    ann, bob, cid = people(3)
    frozen(NOON)
    send_all(dispatched("leadconverter", [ann, bob]))
    frozen(NOON + timedelta(hours=1))
    return ann, bob, cid
