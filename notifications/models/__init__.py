"""The domain tables: who we send to, what we send, and what happened to every message.

Writes that are business logic live in the packages' services; these classes hold data,
constraints and the vocabulary shared by the database, the API and the admin. One module per
part of the domain; everything is imported from here (`from notifications.models import
Campaign`), so the modules can move without their callers knowing. Most of their length is the
indexes and constraints the engine relies on, each with the reason it exists.

- `people`: recipients, addresses, attributes, audiences, test lists;
- `campaigns`: templates, campaigns, their content versions and kept summaries;
- `deliveries`: deliveries, their events and counters, the sends frequency caps count;
- `rules`: the site's sending rules and frequency caps, staff's own settings;
- `operations`: the limiter's state, quotas, tokens, API keys, idempotency, export jobs.
"""

from .campaigns import (
    Campaign,
    CampaignContent,
    CampaignSummary,
    CappedAction,
    MessageTemplate,
    SendWindowFields,
    send_window_constraints,
)
from .deliveries import CountedSend, Delivery, DeliveryCounter, DeliveryEvent
from .operations import (
    Bitrix24Token,
    ExportJob,
    IdempotencyRecord,
    IntegrationKey,
    ProviderQuota,
    RateLimitSlot,
    RateLimitState,
)
from .people import (
    Address,
    Audience,
    AudienceMember,
    Channel,
    Recipient,
    RecipientAttribute,
    SeedRecipient,
)
from .rules import FrequencyCap, SendingRules, StaffProfile, cap_reason_code

__all__ = [
    "Address",
    "Audience",
    "AudienceMember",
    "Bitrix24Token",
    "Campaign",
    "CampaignContent",
    "CampaignSummary",
    "CappedAction",
    "Channel",
    "CountedSend",
    "Delivery",
    "DeliveryCounter",
    "DeliveryEvent",
    "ExportJob",
    "FrequencyCap",
    "IdempotencyRecord",
    "IntegrationKey",
    "MessageTemplate",
    "ProviderQuota",
    "RateLimitSlot",
    "RateLimitState",
    "Recipient",
    "RecipientAttribute",
    "SeedRecipient",
    "SendWindowFields",
    "SendingRules",
    "StaffProfile",
    "cap_reason_code",
    "send_window_constraints",
]
