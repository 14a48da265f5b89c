"""A send task's time: the room django-q2's timeout leaves it, used for waiting and sending."""

import time

import pytest
import responses

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Delivery
from notifications.providers.registry import build_provider
from notifications.sending.limiter import get_limiter
from notifications.sending.loop import campaign_send
from notifications.sending.tasks import send_budget_seconds
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

LEADCONVERTER_URL = "https://leadconverter.test/api/v1"
LEADCONVERTER_SEND = f"{LEADCONVERTER_URL}/lc-token/broadcasting.sendMessageBatch"


def test_a_task_with_a_one_minute_timeout_waits_for_its_permit_instead_of_giving_up(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60}
    settings.PROVIDER_CONNECT_TIMEOUT = 5
    settings.PROVIDER_READ_TIMEOUT = 30
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_URL
    settings.LEADCONVERTER_TOKEN = "lc-token"
    recipient = make_recipient(external_id="b-1", addresses={"leadconverter": "1000"})
    campaign = make_campaign(
        make_audience(recipient), channel="leadconverter", template=make_template()
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    provider = build_provider("leadconverter")
    # The provider asked every worker to wait a second, as a 429 with Retry-After would.
    get_limiter().hold(
        f"{provider.channel}:{provider.account}", until=time.time() + 1, reason="test"
    )
    with responses.RequestsMock() as mocked:
        mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
        report = campaign_send(
            campaign_id=campaign.pk, provider=provider, budget_seconds=send_budget_seconds()
        )
    assert report.stopped_because == "nothing is due"
    assert Delivery.objects.get(campaign=campaign).status == "sent"
