"""Inbound webhook routes, mounted at /webhooks/."""

from django.db import transaction
from django.urls import re_path

from .views import SmsWebhookView

app_name = "webhooks"

urlpatterns = [
    # The trailing slash is optional: a POST redirected by APPEND_SLASH would lose its body.
    # Never wrapped in ATOMIC_REQUESTS: the inbox row must be committed before processing.
    re_path(
        r"^sms/?$",
        transaction.non_atomic_requests(SmsWebhookView.as_view()),
        name="sms",
    ),
]
