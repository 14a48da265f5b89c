"""The SMS webhook endpoint: authenticate, keep the body, answer with what became of it.

Answers: 200 with the counts when the body held events (even if some were rejected: the sender
should not retry those); 400 with a sentence when it held none or could not be read to its end;
413 when it is too large; 401 without credentials we know. Our own failure is a 500, so the
sender retries. A chunked body (no Content-Length) is read too, where the server de-chunks it.
"""

from __future__ import annotations

from typing import BinaryIO

from django.http import HttpRequest
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.reasons import reason_english

from .authentication import SmsWebhookSecretAuthentication
from .models import InboundWebhook
from .services import (
    WebhookReceipt,
    sms_webhook_max_body_bytes,
    sms_webhook_receive,
    sms_webhook_refuse_oversized,
    sms_webhook_refuse_unreadable,
)


class SmsWebhookView(APIView):
    """`POST /webhooks/sms/`: Sendios SMS callbacks (and whatever else Sendios posts there)."""

    authentication_classes = [SmsWebhookSecretAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        http = request._request
        limit = sms_webhook_max_body_bytes()
        request_fields = {
            "headers": request.headers,
            "query_string": http.META.get("QUERY_STRING", ""),
            "remote_addr": http.META.get("REMOTE_ADDR"),
        }
        declared = _content_length(http.META.get("CONTENT_LENGTH"))
        try:
            # At most one byte past the limit: an oversized body is never held in memory,
            # whatever DATA_UPLOAD_MAX_MEMORY_SIZE allows.
            body = b"" if declared > limit else _body_stream(http).read(limit + 1)
        except OSError as exc:
            receipt = sms_webhook_refuse_unreadable(reason=str(exc), **request_fields)
            return Response(_answer(receipt), status=status.HTTP_400_BAD_REQUEST)
        if declared > limit or len(body) > limit:
            receipt = sms_webhook_refuse_oversized(
                size=declared if declared > limit else None, limit=limit, **request_fields
            )
            return Response(_answer(receipt), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        receipt = sms_webhook_receive(body=body, **request_fields)
        if receipt.status == InboundWebhook.Status.REJECTED:
            return Response(_answer(receipt), status=status.HTTP_400_BAD_REQUEST)
        return Response(_answer(receipt))


def _body_stream(http: HttpRequest) -> HttpRequest | BinaryIO:
    """Where to read the body from.

    Django reads CONTENT_LENGTH bytes, and none without it, so a chunked body would read as
    empty. A server that ends the input where the body ends (gunicorn de-chunks and says so with
    `wsgi.input_terminated`) can be read to its end instead.
    """
    if not http.META.get("CONTENT_LENGTH") and http.META.get("wsgi.input_terminated"):
        return http.META["wsgi.input"]
    return http


def _content_length(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _answer(receipt: WebhookReceipt) -> dict[str, object]:
    if receipt.status == InboundWebhook.Status.REJECTED:
        return {"detail": reason_english(receipt.error), "inbound_id": receipt.inbound_id}
    return {
        "inbound_id": receipt.inbound_id,
        "accepted": receipt.accepted,
        "duplicates": receipt.duplicates,
        "rejected": receipt.rejected,
        "rejections": [
            {"key": rejection.key, "reason": reason_english(rejection.reason)}
            for rejection in receipt.rejections
        ],
    }
