"""System checks of the notifications app."""

from django.core.checks import run_checks


def warnings_with(check_id: str) -> list:
    return [message for message in run_checks() if message.id == check_id]


def test_a_q_timeout_with_no_room_for_one_request_is_warned_about_with_a_hint(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 40}
    settings.PROVIDER_CONNECT_TIMEOUT = 5
    settings.PROVIDER_READ_TIMEOUT = 30
    [warning] = warnings_with("dispatch.W001")
    assert "Q_TIMEOUT (40 s)" in warning.msg
    assert "at least 55" in warning.hint


def test_the_default_q_timeout_leaves_room_for_a_request(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 300}
    settings.PROVIDER_CONNECT_TIMEOUT = 5
    settings.PROVIDER_READ_TIMEOUT = 30
    assert warnings_with("dispatch.W001") == []
