"""The sender's HTTP: only allowed addresses, the checked address connected to, no redirects."""

import pytest
from django.utils import translation

from notifications.reasons import reason_encode, reason_text
from outbound.http import Refused, address_allowed, post, url_problem


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "224.0.0.1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(settings, address):
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = []
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(settings, address):
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = []
    assert address_allowed(address)


def test_a_network_staff_allow_is_allowed_and_only_it(settings):
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert address_allowed("10.20.3.4")
    assert not address_allowed("10.21.3.4")


@pytest.mark.parametrize(
    ("url", "debug", "problem"),
    [
        ("http://hooks.example.com/in", False, "Use an https:// URL"),
        ("ftp://hooks.example.com/in", True, "Use an https:// URL"),
        ("https://127.0.0.1/in", False, "127.0.0.1 is a private, loopback or reserved"),
        ("https://[::1]:8443/in", False, "::1 is a private, loopback or reserved"),
        ("https://169.254.169.254/latest", False, "169.254.169.254 is a private"),
        ("https://localhost/in", False, "localhost is this server"),
        ("https://user:pw@hooks.example.com/in", False, "Put no user or password"),
        ("https:///in", False, "The URL has no host."),
        ("https://hooks.example.com:99999/in", False, "The port is not a number"),
    ],
)
def test_a_url_staff_save_is_checked_with_a_sentence(settings, url, debug, problem):
    settings.DEBUG = debug
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = []
    assert problem in url_problem(url)


def test_https_to_a_public_host_and_http_while_debugging_are_fine(settings):
    settings.DEBUG = False
    assert url_problem("https://hooks.example.com/in?x=1") is None
    settings.DEBUG = True
    assert url_problem("http://hooks.example.com/in") is None


def test_a_host_name_resolving_to_a_private_address_is_refused_at_the_request(
    settings, monkeypatch
):
    """A name passes when staff save it; what it resolves to when the request goes is what
    counts (a DNS answer can change: rebinding)."""
    settings.DEBUG = True
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = []
    assert url_problem("https://hooks.example.com/x") is None
    answers = [("93.184.216.34", 443), ("169.254.169.254", 443)]
    monkeypatch.setattr(
        "socket.getaddrinfo",
        lambda host, port, **kw: [(2, 1, 6, "", address) for address in answers],
    )
    with pytest.raises(Refused) as raised:
        post("https://hooks.example.com/x", b"{}", {}, timeout=1)
    assert "resolves to 169.254.169.254" in reason_text(str(raised.value))


def test_a_url_refused_at_the_request_is_stored_to_read_in_the_readers_language(settings):
    settings.DEBUG = False
    with pytest.raises(Refused) as raised:
        post("http://hooks.example.com/x", b"{}", {}, timeout=1)
    stored = reason_encode("not_requested", reason=str(raised.value))

    with translation.override("ru"):
        russian = reason_text(stored)
    with translation.override("en"):
        english = reason_text(stored)

    assert russian.startswith("Запрос не отправлен: ")
    assert "https://" in russian
    assert english == (
        "Not requested: Use an https:// URL (plain http is only allowed while DEBUG is on)."
    )
    with translation.override("ru"):
        assert url_problem("http://hooks.example.com/x") == russian.removeprefix(
            "Запрос не отправлен: "
        )


def test_a_post_reaches_an_allowed_receiver_with_the_host_header_of_the_url(receiver):
    answer = post(receiver.url, b'{"events": []}', {"X-Test": "1"}, timeout=2)
    assert (answer.status, answer.text) == (200, '{"ok": true}')
    (request,) = receiver.received
    assert request.body == b'{"events": []}'
    assert request.headers["Host"] == receiver.url.split("/")[2]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Test"] == "1"


def test_a_redirect_is_an_answer_not_followed(receiver):
    receiver.status = 302
    receiver.headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    answer = post(receiver.url, b"{}", {}, timeout=2)
    assert answer.status == 302
    assert len(receiver.received) == 1
