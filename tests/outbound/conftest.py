"""A local receiver the sender may reach (loopback is allowed here, as staff would allow an
internal network), and endpoints on it."""

import pytest

from outbound.services import endpoint_create
from tests.notifications.conftest import mocked, test_providers  # noqa: F401 (fixtures)
from tests.notifications.sending.test_workers import (  # noqa: F401 (fixtures)
    provider_settings,
    real_stack,
)
from tests.support.hook_receiver import HookReceiver


@pytest.fixture
def receiver(settings):
    settings.DEBUG = True
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_WEBHOOK_TIMEOUT = 3
    with HookReceiver() as server:
        yield server


@pytest.fixture
def endpoint_on(receiver):
    def make(events=("campaign.status", "delivery.sent", "delivery.failed"), **fields):
        return endpoint_create(url=receiver.url, events=list(events), **fields)

    return make
