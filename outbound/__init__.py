"""Outbound webhooks: the campaigns' history, pushed to the integrations that ask for it.

The history (`notifications.DeliveryEvent`) is the outbox: every change writes its event in its
own transaction. `fanout` turns new events into signed POSTs waiting per endpoint (`Message`),
in order per campaign; `sender` delivers them, retries, and disables an endpoint that keeps
failing; `tasks.pump` runs both on a worker.
"""
