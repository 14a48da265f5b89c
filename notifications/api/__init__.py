"""The REST API for integrations (/api/).

Resources in `views/` and `serializers/`, a module each: recipients, attributes, audiences,
templates, campaigns, messages, history. Beside them: who may call and how often
(`authentication`, `keys`, `permissions`, `throttling`), Idempotency-Key replays
(`idempotency`), the one place where errors become HTTP answers (`errors`), and how requests,
answers, pages and the schema are written.
"""
