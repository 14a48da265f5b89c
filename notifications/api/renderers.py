"""The API's JSON renderer: DRF's, except that an answer holding half a surrogate pair is still
sent, escaped, instead of failing.

A 400 may repeat what the client sent (a field name, a value), and JSON allows `"\\ud800"`,
which is not Unicode: DRF's UTF-8 output cannot encode it and the error became a 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """UTF-8 JSON as DRF writes it; with ASCII escapes where the text is not valid Unicode."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return json.dumps(data, cls=self.encoder_class, ensure_ascii=True).encode("ascii")
