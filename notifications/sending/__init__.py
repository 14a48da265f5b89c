"""Sending: getting a running campaign's deliveries to its provider, at most once each.

The dispatch path through this package, in order: `wake` enqueues the send task by reference;
`tasks.send_campaign` runs `loop.campaign_send`, which takes rows with `claims`, keeps them
with `leases`, waits for a turn from `permits` (over the shared `limiter`), sends, and stores
the answers with `outcomes`; `breaker` pauses a campaign whose requests keep failing, and
`counters` keeps the per-status counts every status change adds to. `tasks.tick` is the
periodic safety net; `checks` warns about settings that leave a send task no room.
"""
