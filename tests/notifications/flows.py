"""Campaigns dispatched, materialised and sent on the real database, for the tests that follow
one through its life; the providers are the real backends, their HTTP answered by `responses`.
"""

from datetime import UTC, datetime

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, DeliveryCounter
from notifications.providers.registry import build_provider
from notifications.sending.counters import counters_rebuild
from notifications.sending.loop import SendReport, campaign_send
from tests.factories import make_audience, make_campaign, make_recipient, make_template

IMSHOP_URL = "https://imshop.test/push"
LEADCONVERTER_URL = "https://leadconverter.test/api/v1"
LEADCONVERTER_SEND = f"{LEADCONVERTER_URL}/lc-token/broadcasting.sendMessageBatch"


def use_test_providers(settings) -> None:
    """Imshop and LeadConverter configured with room to spare, three attempts, a breaker at 3."""
    settings.IMSHOP_PUSH_URL = IMSHOP_URL
    settings.IMSHOP_API_KEY = "imshop-key"
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_URL
    settings.LEADCONVERTER_TOKEN = "lc-token"
    settings.LEADCONVERTER_RATE = "1000/s"
    settings.LEADCONVERTER_BURST = 1000
    settings.VESTNIK_RETRY_BASE_SECONDS = 30
    settings.VESTNIK_MAX_ATTEMPTS = 3
    settings.VESTNIK_BREAKER_THRESHOLD = 3


def people(count: int, **fields):
    return [
        make_recipient(
            external_id=f"c-{i}",
            first_name=f"N{i}",
            addresses={"leadconverter": str(1000 + i)},
            **fields,
        )
        for i in range(count)
    ]


def dispatched(channel: str, recipients, **template_fields):
    """A campaign dispatched and materialised, its senders not run."""
    template = make_template(**template_fields) if template_fields else make_template()
    campaign = make_campaign(make_audience(*recipients), channel=channel, template=template)
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def send_all(campaign, budget: float = 30) -> SendReport:
    return campaign_send(
        campaign_id=campaign.pk, provider=build_provider(campaign.channel), budget_seconds=budget
    )


def statuses(campaign) -> dict[str, int]:
    return {c.status: c.count for c in DeliveryCounter.objects.filter(campaign=campaign) if c.count}


def counted_truth(campaign) -> dict[str, int]:
    return {k: v for k, v in counters_rebuild(campaign_id=campaign.pk).items() if v}


# Noon in Moscow on a Monday: the frequency caps' tests' clock.
NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def sent_with(recipients, **fields) -> Campaign:
    """A LeadConverter campaign to `recipients` with `fields` set, dispatched and sent."""
    campaign = dispatched("leadconverter", recipients)
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    send_all(campaign)
    campaign.refresh_from_db()
    return campaign
