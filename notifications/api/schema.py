"""OpenAPI schema hooks: the schema describes the API, not the admin or the webhooks."""

from typing import Any


def api_endpoints_only(endpoints: list[tuple[str, ...]], **kwargs: Any) -> list[tuple[str, ...]]:
    """Keep the `/api/` routes (the SMS webhook is documented in its own app)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
