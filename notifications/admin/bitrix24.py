"""The Bitrix24 connection in the admin: the token shown without its secrets, and the OAuth flow
(connect, then the portal's callback) that makes it.
"""

from __future__ import annotations

import secrets

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from notifications.providers.bitrix24.oauth import authorize_url, exchange_code
from notifications.providers.bitrix24.provider import Bitrix24Provider
from notifications.providers.bitrix24.tokens import (
    NOT_CONNECTED,
    DatabaseTokenStore,
    bitrix24_portal,
)
from notifications.providers.exceptions import ProviderError
from notifications.providers.registry import channel_status

from ..models import Bitrix24Token

BITRIX24_STATE_KEY = "vestnik_bitrix24_oauth_state"


@admin.register(Bitrix24Token)
class Bitrix24TokenAdmin(admin.ModelAdmin):
    """The Bitrix24 connection: shown without its tokens, made through the OAuth flow."""

    list_display = ["portal", "expires_at", "updated_at"]
    fields = ["portal", "expires_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list:
        return [
            path(
                "connect/",
                self.admin_site.admin_view(self.connect_view),
                name="notifications_bitrix24token_connect",
            ),
            path(
                "callback/",
                self.admin_site.admin_view(self.callback_view),
                name="notifications_bitrix24token_callback",
            ),
            *super().get_urls(),
        ]

    def _may_connect(self, request: HttpRequest) -> None:
        if not request.user.has_perm("notifications.add_bitrix24token"):
            raise PermissionDenied

    def connect_view(self, request: HttpRequest) -> HttpResponse:
        """Explain, then send the person to the portal to authorise the app."""
        self._may_connect(request)
        callback = request.build_absolute_uri(reverse("admin:notifications_bitrix24token_callback"))
        if request.method == "POST":
            state = secrets.token_urlsafe(24)
            request.session[BITRIX24_STATE_KEY] = state
            try:
                return redirect(authorize_url(state))
            except ProviderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        configured, reason = channel_status(Bitrix24Provider.channel)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Connect Bitrix24"),
            "opts": self.model._meta,
            "callback_url": callback,
            "portal": bitrix24_portal(),
            "connected": Bitrix24Token.objects.filter(portal=bitrix24_portal()).first(),
            "settings_missing": reason if not configured and reason != NOT_CONNECTED else "",
        }
        return TemplateResponse(request, "admin/notifications/bitrix24token/connect.html", context)

    def callback_view(self, request: HttpRequest) -> HttpResponse:
        """Bitrix24 sends the person back here with a code (valid 30 s): trade it for tokens."""
        self._may_connect(request)
        expected = request.session.pop(BITRIX24_STATE_KEY, None)
        state, code = request.GET.get("state", ""), request.GET.get("code", "")
        if not expected or not secrets.compare_digest(state, expected):
            self.message_user(
                request,
                gettext(
                    "This answer from Bitrix24 does not match a connection we started; start again."
                ),
                messages.ERROR,
            )
        elif not code:
            self.message_user(
                request, gettext("Bitrix24 sent no authorisation code."), messages.ERROR
            )
        else:
            try:
                tokens = exchange_code(code)
            except ProviderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                DatabaseTokenStore(bitrix24_portal()).save(tokens)
                self.message_user(
                    request,
                    gettext("Bitrix24 portal %(portal)s is connected.")
                    % {"portal": bitrix24_portal()},
                    messages.SUCCESS,
                )
        return redirect("admin:notifications_bitrix24token_connect")
