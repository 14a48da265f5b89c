"""What a provider raises when a call fails as a whole, each meaning carried by inheritance.

A refused message is a result (`values.SendResult`), never an exception.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class ProviderError(Exception):
    """A provider call failed as a whole. `response_text` is the provider's answer, redacted."""

    def __init__(self, message: str, *, status_code: int | None = None, response_text: str = ""):
        # A lazily translated message is read now, in the language of the moment.
        super().__init__(str(message))
        self.status_code = status_code
        self.response_text = response_text


class ProviderConfigurationError(ProviderError, ImproperlyConfigured):
    """A setting is missing or the provider refused our credentials: a person must act.

    Never a transient error, so no retry logic swallows it; the campaign pauses with this message.
    """


class NoPermit(Exception):
    """The rate limiter has no permit for a further request within the caller's time.

    Raised by a `Permit`; the provider lets it through, and nothing more was sent.
    """
