"""OpenAPI schema hooks: the schema describes the API, not the admin or the webhooks."""

from typing import Any


def api_endpoints_only(endpoints: list[tuple[str, ...]], **kwargs: Any) -> list[tuple[str, ...]]:
    """Keep the `/api/` routes (the SMS webhook is documented in its own app)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


# Answers any operation may give besides its own: DRF's error shape, `{"detail": "..."}` or
# field errors. Documented once here rather than on every view.
ERROR_ANSWERS = {
    "400": "The request is invalid; the body says what is wrong, per field.",
    "401": "No API key, or a key that is unknown, revoked or expired.",
    "403": "The key may not do this (a read-only key writing).",
    "404": "No such object, or an invalid page cursor.",
    "405": "This method is not allowed here.",
    "406": "The requested media type cannot be served.",
    "409": "The object's state does not allow this (for example, a campaign that is not a draft).",
    "415": "The body's media type is not supported.",
    "422": "The Idempotency-Key was used with a different request.",
    "429": "Too many requests for this key; retry after the seconds in Retry-After.",
}


def document_error_answers(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the common error answers to every operation that does not describe them itself.

    They share one `Error` component, so a generated client has one error type, not one per
    operation and status.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
        "type": "object",
        "additionalProperties": True,
        "description": '`{"detail": "..."}`, or a message list per field.',
    }
    error_schema = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_ANSWERS.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": error_schema}},
                    },
                )
    return result
