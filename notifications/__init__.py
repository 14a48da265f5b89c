"""Vestnik's domain app: recipients, message templates, campaigns, and sending them.

A package per concern, each saying in its docstring what it owns: `recipients/`, `content/`,
`campaigns/`, `sending/`, `providers/`, `db/`, and the interfaces `admin/` and `api/`. The rules
every interface shares are written once: the lifecycle's table in `campaigns/actions.py`, channel
facts on the provider classes (`providers/registry.py`), the refusals in `errors.py`.
`docs/architecture.md` draws the map.
"""
