"""A local stand-in for Vestnik's providers: Imshop, LeadConverter, Yandex Market, Bitrix24 and
the Sendios callbacks that come back, true to their documented contracts and limits.

Pure standard library and free of Django, so a benchmark can run it in a process of its own.
`Emulator` is the whole of it; `limits` holds every number it enforces.
"""

from .credentials import Credentials, provider_settings
from .recorder import Accepted
from .sendios import CallbackMix
from .server import Emulator

__all__ = ["Accepted", "CallbackMix", "Credentials", "Emulator", "provider_settings"]
