"""The system check that warns when no webhook secret is configured."""

from django.core.checks import Warning, run_checks
from django.test import override_settings

from webhooks.checks import sms_webhook_secrets_check


@override_settings(SMS_WEBHOOK_SECRETS=[])
def test_no_secret_configured_is_a_warning_of_the_system_checks():
    warnings = [message for message in run_checks() if message.id == "webhooks.W001"]
    assert warnings == [
        Warning(
            "SMS_WEBHOOK_SECRETS is empty: every request to /webhooks/sms/ is refused.",
            hint=(
                "Set SMS_WEBHOOK_SECRETS to one or more long random values (comma-separated) "
                "and give Sendios the webhook URL with one of them as the Basic password or "
                "the token parameter."
            ),
            id="webhooks.W001",
        )
    ]


@override_settings(SMS_WEBHOOK_SECRETS=["", " "])
def test_only_blank_secrets_are_no_secret():
    assert [message.id for message in sms_webhook_secrets_check()] == ["webhooks.W001"]


def test_a_configured_secret_raises_no_warning():
    assert sms_webhook_secrets_check() == []
