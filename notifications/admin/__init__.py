"""Django admin: where staff manage recipients, templates and campaigns.

Importing the package registers every admin; each module owns one group of models:

- base.py: saving and deleting through the services, read-only history, shared links and tables
- forms.py: the admin's model forms, turning the domain's checks into field errors;
  window_fields.py: a send window's fields and checks, for the campaign and the sending rules
- recipients.py: recipients, addresses and their filters; audience_membership.py: the list's
  actions that add recipients to a static audience or remove them
- audiences.py: static lists and segments (live count, members); rule_builder.py: the segment
  rule builder's widget and field; imports.py: the CSV import
- attributes.py: the registry of recipient attributes
- templates.py: message templates and their preview
- campaigns.py: the campaign page, progress and providers; campaign_list.py: the list's counters
  and columns; bulk.py: the bulk actions
- transitions.py: which moves a campaign offers, each one's question and service call;
  confirmations.py: what blocks or warns a move now, and the confirmation page
- content.py: a dispatched campaign's message versions and the page that saves the next one
- timezones.py and profile.py: the date-time picker in the person's zone, and their zone page
- desk.py: what a campaign's page shows above its form; plan.py a draft's send plan in words,
  its previews and warnings; live.py its progress, state and time left in words; charts.py
  draws its timelines in SVG
- dashboard.py: the admin's index (the site and its grouping are in config/admin_site.py)
- deliveries.py: deliveries and their events, read-only
- exports.py: the lists' export links; export_jobs.py: "Your exports", written in the background
- sending_rules.py: the site's sending rules (default zone and send window), one page;
  frequency_caps.py: the site's frequency caps, a list of policies
- seeds.py: the test lists (own and shared); test_sends.py: the send-test page and its results
- bitrix24.py: the Bitrix24 connection and its OAuth flow
- keys.py: API keys for integrations
- staff.py: staff accounts and groups, their permissions named in the reader's language

Pages stay fast on large tables: list queries select their relations, history on a detail page
shows the newest rows with a link to the full filtered list, and big changelists skip the full
count.
"""

from . import (
    attributes,
    audiences,
    bitrix24,
    campaigns,
    deliveries,
    export_jobs,
    frequency_caps,
    keys,
    recipients,
    seeds,
    sending_rules,
    staff,
    templates,
)

__all__ = [
    "attributes",
    "audiences",
    "bitrix24",
    "campaigns",
    "deliveries",
    "export_jobs",
    "frequency_caps",
    "keys",
    "recipients",
    "seeds",
    "sending_rules",
    "staff",
    "templates",
]
