"""Provider backends: turn rendered messages into HTTP requests and HTTP answers into results.

One module per vendor (`imshop`, `leadconverter`, `yandex_market`, the `bitrix24` package) over
`base.Provider`, which builds on `values`, `limits`, `exceptions`, `redaction`, `settings`,
`http` and `verdicts`. Each provider class declares its channel's facts; `registry` is the one
place that maps a channel to its class and builds a provider. Only `bitrix24.tokens` touches the
database (its OAuth tokens rotate). `docs/providers.md` describes each vendor and
`docs/adding-a-provider.md` what a fifth takes.
"""
