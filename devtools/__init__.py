"""Tools for running Vestnik on a developer's machine, never part of the product's behaviour.

`manage.py devserver` supervises the web server, a worker and the provider emulator for
`make run`; `manage.py provider_emulator` serves the emulator (the `emulator` package) with the
credentials from our settings. The product never imports this app.
"""
