"""Bitrix24 app pushes, sent by an OAuth 2.0 application whose tokens rotate.

- `provider`: the provider (sending, the token's refresh-and-repeat, what each answer means);
- `pushes`: messages as push calls, one call or a `batch.json` of them;
- `oauth`: the portal's address and Bitrix24's OAuth server (connecting the app, refreshing);
- `tokens`: where the token pair lives (the database in production, memory in tests), refreshed
  once for all workers. The one module of the providers that touches the database.
"""
