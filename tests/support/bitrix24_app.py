"""A Bitrix24 app configured for the OAuth tests (admin connect page and `bitrix24_connect`)."""

TOKEN_URL = "https://oauth.bitrix.test/oauth/token/"


def use_bitrix24_app(settings) -> None:
    settings.BITRIX24_PORTAL_URL = "https://acme.bitrix24.test"
    settings.BITRIX24_CLIENT_ID = "app.123"
    settings.BITRIX24_CLIENT_SECRET = "client-secret-value"
    settings.BITRIX24_OAUTH_URL = "https://oauth.bitrix.test"


def tokens_answer(access: str, refresh: str) -> dict:
    """Bitrix24's OAuth server's answer with a fresh token pair."""
    return {"access_token": access, "refresh_token": refresh, "expires_in": 3600}
