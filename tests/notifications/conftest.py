"""Fixtures for the tests that follow a campaign through its life (see `flows.py`)."""

from datetime import datetime

import pytest
import responses
from django.utils import timezone

from tests.notifications.flows import use_test_providers


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
