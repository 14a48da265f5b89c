"""Fixtures for the tests that follow a campaign through its life (see `flows.py`)."""

import pytest
import responses

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
