"""What a message says: templates rendered per recipient, and the checks content must pass.

`rendering.py` is the Liquid sandbox; `checks.py` is the one set of content checks (staff see
them as form errors, and each rendered message passes them before it goes out); `preview.py`
is the one preview every page shows; `services.py` writes templates.
"""
