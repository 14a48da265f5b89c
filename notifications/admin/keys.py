"""API keys for integrations in the admin: ours replace the library's own."""

from __future__ import annotations

from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from ..models import IntegrationKey

# API keys: ours carry a read-only flag and last use; the library's own model goes unused.
admin.site.unregister(APIKey)


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(APIKeyModelAdmin):
    """API keys for integrations: the key is shown once, at creation; revoke to cut access."""

    list_display = [*APIKeyModelAdmin.list_display, "read_only", "last_used_at"]
    list_filter = [*APIKeyModelAdmin.list_filter, "read_only"]
