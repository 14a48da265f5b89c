"""POSTing to an integration's URL without letting that URL reach inside our network.

A URL is checked twice: when staff save it (`url_problem`: https unless DEBUG, no private
address written in it) and at every request (`post`): the host is resolved, every address it
resolves to must be public (or in `OUTBOUND_WEBHOOK_ALLOWED_NETWORKS`), and the connection goes
to the very address that was checked, so a DNS answer that changes in between (rebinding)
cannot redirect it. TLS still verifies the certificate against the URL's host name. Redirects
are never followed: a 3xx is an answer like any other, and a failure.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

from notifications.reasons import reason_encode, reason_text

# An answer's start kept for staff to read; the rest is read and dropped.
ANSWER_KEPT = 500
ANSWER_READ = 64 * 1024
USER_AGENT = "Vestnik-Webhooks/1"


class Refused(Exception):
    """The URL may not be requested; the message says why, for staff, as a stored reason
    (`notifications.reasons`): it is written down on the message, read where it is shown."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


@cache
def _allowed_networks(spec: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in spec)


def address_allowed(address: str) -> bool:
    """Whether a request may go to this IP address: a public one, or one staff allowed."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    networks = _allowed_networks(tuple(settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS))
    if any(ip.version == net.version and ip in net for net in networks):
        return True
    return ip.is_global and not ip.is_multicast


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as an endpoint, in a sentence in the active language; None when
    nothing is.

    Host names are resolved at each request, not here: what they resolve to can change.
    """
    problem = _url_refusal(url)
    return None if problem is None else reason_text(problem)


def _url_refusal(url: str) -> str | None:
    """What is wrong with `url` as an endpoint, as a stored reason; None when nothing is."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (settings.DEBUG and parts.scheme == "http"):
        return reason_encode("url_not_https")
    if not parts.hostname:
        return reason_encode("url_no_host")
    if parts.username or parts.password:
        return reason_encode("url_has_user")
    try:
        parts.port  # noqa: B018 - read for its check: a port past 65535 raises
    except ValueError:
        return reason_encode("url_bad_port")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.rstrip(".").lower() == "localhost" and not address_allowed("127.0.0.1"):
            return reason_encode("url_localhost")
        return None
    if not address_allowed(str(literal)):
        return reason_encode("url_private_address", address=str(literal))
    return None


def _checked_address(host: str, port: int) -> str:
    """An address `host` resolves to, once every one of them is allowed."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(reason_encode("host_unresolved", host=host, error=exc.strerror)) from None
    addresses = [info[4][0] for info in found]
    refused = [address for address in addresses if not address_allowed(address)]
    if refused:
        raise Refused(reason_encode("host_private", host=host, address=refused[0]))
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `url` at a checked address; the answer, whatever its status.

    Raises Refused for a URL that may not be requested, urllib3's errors when the request
    itself fails (no connection, a timeout, a bad certificate).
    """
    problem = _url_refusal(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname
    address = _checked_address(host, port)
    timeouts = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeouts,
            retries=False,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeouts, retries=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    with pool:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Host": parts.netloc.rpartition("@")[2],
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            redirect=False,
            preload_content=False,
        )
        try:
            text = response.read(ANSWER_READ, decode_content=True)
        finally:
            response.release_conn()
    return Answer(response.status, text[:ANSWER_KEPT].decode("utf-8", "replace"))
