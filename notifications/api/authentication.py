"""Who is calling: an integration's API key (`Authorization: Api-Key <key>`) or a staff session."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from ..models import IntegrationKey
from .keys import integration_key_touch


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate an integration by its API key; `request.auth` is the IntegrationKey.

    A request without the header is left to the next authenticator (staff sessions); one with a
    wrong, revoked or expired key is refused outright, so a bad key never falls back to a
    session.
    """

    keyword = KeyParser.keyword
    parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[AnonymousUser, IntegrationKey] | None:
        secret = self.parser.get(request)
        if secret is None:
            return None
        try:
            key = IntegrationKey.objects.get_from_key(secret.strip())
        except IntegrationKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(
                _("This API key is not valid or has been revoked.")
            ) from None
        if key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        integration_key_touch(key=key)
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes the API key header in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create one with `manage.py create_api_key NAME`.",
        }
