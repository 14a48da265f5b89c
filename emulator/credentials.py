"""The credentials the emulator checks, and the settings that point Vestnik at it.

Pure standard library, so `python -m emulator.localenv` can write a fresh `.env` before the
project's dependencies are installed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields

from . import imshop, leadconverter


@dataclass(frozen=True)
class Credentials:
    """What each provider accepts: the same values as Vestnik's settings of the same names."""

    imshop_api_key: str
    leadconverter_token: str
    yandex_market_api_key: str
    yandex_market_business_id: str
    bitrix24_client_id: str
    bitrix24_client_secret: str

    def __post_init__(self) -> None:
        empty = [field.name.upper() for field in fields(self) if not getattr(self, field.name)]
        if empty:
            raise ValueError(f"the emulator needs every credential; empty: {', '.join(empty)}")
        if not self.yandex_market_business_id.isdigit():
            raise ValueError("YANDEX_MARKET_BUSINESS_ID must be a number")

    def __repr__(self) -> str:
        return "Credentials(...)"

    @classmethod
    def generate(cls) -> Credentials:
        """Fresh random credentials, for a local `.env` or a test."""
        return cls(
            imshop_api_key=secrets.token_urlsafe(24),
            leadconverter_token=secrets.token_hex(20),
            yandex_market_api_key=f"y0_{secrets.token_urlsafe(30)}",
            yandex_market_business_id=str(secrets.randbelow(9_000_000) + 1_000_000),
            bitrix24_client_id=f"local.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}",
            bitrix24_client_secret=secrets.token_urlsafe(32),
        )


def provider_settings(base_url: str, credentials: Credentials) -> dict[str, str]:
    """Vestnik's settings that send every provider's requests to the emulator at `base_url`."""
    base_url = base_url.rstrip("/")
    return {
        "IMSHOP_PUSH_URL": f"{base_url}{imshop.PATH}",
        "IMSHOP_API_KEY": credentials.imshop_api_key,
        "LEADCONVERTER_API_URL": f"{base_url}{leadconverter.BASE_PATH}",
        "LEADCONVERTER_TOKEN": credentials.leadconverter_token,
        "YANDEX_MARKET_API_URL": base_url,
        "YANDEX_MARKET_API_KEY": credentials.yandex_market_api_key,
        "YANDEX_MARKET_BUSINESS_ID": credentials.yandex_market_business_id,
        "BITRIX24_PORTAL_URL": base_url,
        "BITRIX24_CLIENT_ID": credentials.bitrix24_client_id,
        "BITRIX24_CLIENT_SECRET": credentials.bitrix24_client_secret,
        "BITRIX24_OAUTH_URL": base_url,
    }
