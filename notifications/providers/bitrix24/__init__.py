"""Bitrix24 app pushes, sent by an OAuth 2.0 application whose tokens rotate.

- `provider`: the provider (pushes, `batch.json`, what each answer means);
- `oauth`: the portal's address and Bitrix24's OAuth server (connecting the app, refreshing);
- `tokens`: where the token pair lives (the database in production, memory in tests), refreshed
  once for all workers. The one module of the providers that touches the database.
"""
