"""Inbound webhooks: Sendios SMS callbacks, kept raw first, then parsed, deduplicated and linked
to campaigns, deliveries and recipients (`services.py` states the rules).
"""
