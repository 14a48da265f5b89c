"""No log our web servers write carries the webhook secret a sender put in the URL.

Real gunicorn (with the configuration production uses) and a real runserver, everything they
write captured until they stop. The secret goes in the query string every way the endpoint
accepts it there, and once in a request line the server itself refuses.
"""

from notifications.providers.redaction import REDACTED
from tests.webhooks.conftest import SECRET, URL, sendios_body, sms_event
from tests.webhooks.servers import (
    exchange,
    gunicorn,
    post_request,
    runserver,
    status_and_json,
)
from webhooks.redaction import redact_url_secrets

ENCODED_SECRET = "".join(f"%{byte:02X}" for byte in SECRET.encode())
# (what the request line carries, the secret as it appears there, the line as it must be logged)
ACCEPTED = [
    (f"{URL}?token={SECRET}", SECRET, f"{URL}?token={REDACTED}"),
    (f"{URL}?channel=sms&%74oken={SECRET}", SECRET, f"{URL}?channel=sms&%74oken={REDACTED}"),
    (f"{URL}?token={ENCODED_SECRET}", ENCODED_SECRET, f"{URL}?token={REDACTED}"),
]
# No HTTP version: refused by the server before Django sees it, and logged by the server.
MALFORMED = f"POST {URL}?token={SECRET}\r\n\r\n".encode()


def post_with_token(port: int, target: str) -> int:
    body = sendios_body(sms_event())
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    status, _ = status_and_json(exchange(port, post_request(target, body, headers)))
    return status


def send_the_secret_every_way(port: int) -> None:
    for target, _, _ in ACCEPTED:
        assert post_with_token(port, target) == 200
    exchange(port, MALFORMED)


def assert_no_secret(log: str) -> None:
    for _, secret, _ in ACCEPTED:
        assert secret not in log


def test_gunicorn_logs_every_request_line_with_the_secret_redacted(scratch_database, tmp_path):
    with gunicorn(scratch_database, tmp_path / "output.log", SMS_WEBHOOK_SECRETS=SECRET) as server:
        send_the_secret_every_way(server.port)
    log = server.log()
    assert_no_secret(log)
    for _, _, logged in ACCEPTED:
        assert f'"POST {logged} HTTP/1.1" 200' in log
    assert f"Invalid HTTP request line: 'POST {URL}?token={REDACTED}" in log


def test_runserver_logs_every_request_line_with_the_secret_redacted(scratch_database, tmp_path):
    with runserver(
        scratch_database, tmp_path / "output.log", SMS_WEBHOOK_SECRETS=SECRET, DEBUG="True"
    ) as server:
        send_the_secret_every_way(server.port)
    log = server.log()
    assert_no_secret(log)
    for _, _, logged in ACCEPTED:
        assert f'"POST {logged} HTTP/1.1" 200' in log
    assert f'"POST {URL}?token={REDACTED} 400' in log


def test_a_token_named_any_way_django_decodes_it_is_redacted_and_nothing_else():
    line = "POST /x?a=1&token=s1&%74oken=s2&to%6Ben=s3&tokens=keep&token&x=token=keep HTTP/1.1"
    assert redact_url_secrets(line) == (
        f"POST /x?a=1&token={REDACTED}&%74oken={REDACTED}&to%6Ben={REDACTED}"
        "&tokens=keep&token&x=token=keep HTTP/1.1"
    )
