"""Provider backends: turn rendered messages into HTTP requests and HTTP answers into results.

Providers never touch the database (Bitrix24 keeps its OAuth tokens through a store passed in).
`get_provider(channel)` builds one from settings; `docs/providers.md` describes each.
"""
