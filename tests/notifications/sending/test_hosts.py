"""Several machines: two hosts, each a network namespace of its own running `qcluster`, against
one PostgreSQL, one Redis and the provider emulator, all reached across the hosts' links
(`tests/support/hosts.py`), never through a loopback the hosts share.

What holds on one machine holds across machines: claims (every delivery sent exactly once, by
one host or the other), the shared limiter (the emulator never sees a request over the
provider's limit from the two together), and a host killed with SIGKILL mid-send (the other
finishes, nothing is sent twice). Each test prints its numbers (`pytest -s` shows them); the
README's "Production and several workers" keeps them.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from emulator.credentials import Credentials, provider_settings
from emulator.server import Emulator
from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    MessageTemplate,
    Recipient,
)
from notifications.providers.bitrix24.tokens import DatabaseTokenStore, Tokens, bitrix24_portal
from tests.notifications.sending.test_workers import (  # noqa: F401 - fixtures used by name
    finished,
    real_stack,
    statuses,
    wait_until,
)
from tests.support.host_clusters import HostClusters
from tests.support.hosts import Host, Listener, hosts_linked, hosts_problem

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("real_stack", "emulator_settings"),
]

# The emulator's vendor durations, this many times shorter (only Bitrix24's limit matters here).
TIME_SCALE = 5
POSTGRES_PORT, REDIS_PORT, EMULATOR_PORT = 5432, 6379, 8025
WORKERS_PER_HOST = 2
LEASE_SECONDS = 9
# Bitrix24's bucket holds 50 requests and drains 2 a second: 10 a second at TIME_SCALE. Our
# settings leave the bucket room (a burst of 40, as an operator keeps a margin): without a
# shared limiter, two hosts' bursts alone would overflow it, and their two rates within seconds.
BITRIX24_LIMITS = {"BITRIX24_RATE": f"{2 * TIME_SCALE}/s", "BITRIX24_BURST": "40"}
BITRIX24_BURST, BITRIX24_ALLOWED = 40, 2 * TIME_SCALE


@dataclass(frozen=True)
class Network:
    hosts: list[Host]
    # What each host's relays accepted, by (host, service port).
    listeners: dict[tuple[str, int], Listener]
    emulator: Emulator


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    """Two hosts, the emulator (limits on, time-scaled), and the relays that bring each host
    PostgreSQL and Redis at its gateway, and the emulator on its own loopback."""
    problem = hosts_problem()
    if problem:
        pytest.skip(problem)
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"] or not database.get("HOST"):
        pytest.skip("needs PostgreSQL over TCP: set DATABASE_URL=postgres://...@127.0.0.1/...")
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 to run it")
    redis = urlsplit(settings.REDIS_URL)
    services = {
        POSTGRES_PORT: (database["HOST"], int(database["PORT"] or 5432)),
        REDIS_PORT: (redis.hostname or "127.0.0.1", redis.port or 6379),
    }
    with (
        Emulator(time_scale=TIME_SCALE, limits=True, seed=1) as emulator,
        hosts_linked(2) as (hosts, relay),
    ):
        services[EMULATOR_PORT] = ("127.0.0.1", urlsplit(emulator.url).port)
        listeners = {}
        for host in hosts:
            for port, target in services.items():
                listeners[host.name, port] = relay.forward((host.gateway, port), target)
            # A provider's URL must be https, or plain http to the machine itself
            # (`providers/settings.check_url`): a host has the emulator on its own loopback,
            # relayed across its link like the rest.
            relay.forward(
                ("127.0.0.1", EMULATOR_PORT), (host.gateway, EMULATOR_PORT), namespace=host.name
            )
        yield Network(hosts, listeners, emulator)


@pytest.fixture
def emulator_settings(settings, network):
    """This process (dispatch's preflight) sees the providers configured, at the emulator."""
    for name, value in network.emulator.settings().items():
        setattr(settings, name, value)
    network.emulator.reset()


def _host_env(host: Host, credentials: Credentials) -> dict[str, str]:
    """What a production host would be given: its own addresses of the shared services, and
    the same settings as every other host."""
    params = connection.settings_dict
    login = quote(params["USER"], safe="")
    if params.get("PASSWORD"):
        login += ":" + quote(params["PASSWORD"], safe="")
    redis = urlsplit(settings.REDIS_URL)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # django-q2 signs tasks with SECRET_KEY: this process enqueues (the tick), hosts verify.
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{login}@{host.gateway}:{POSTGRES_PORT}/{params['NAME']}",
        "REDIS_URL": redis._replace(netloc=f"{host.gateway}:{REDIS_PORT}").geturl(),
        **provider_settings(f"http://127.0.0.1:{EMULATOR_PORT}", credentials),
        "LOG_LEVEL": "INFO",
        "Q_WORKERS": str(WORKERS_PER_HOST),
        "Q_TIMEOUT": "20",
        "Q_RETRY": "25",
        "PROVIDER_CONNECT_TIMEOUT": "2",
        "PROVIDER_READ_TIMEOUT": "3",
        "VESTNIK_WORKER_STALE_SECONDS": "3",
        # A dead host's claims are back in play this long after: short, for the kill's test.
        "VESTNIK_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        # A send loop per worker of both hosts, so each host has some.
        "VESTNIK_SEND_CONCURRENCY": str(2 * WORKERS_PER_HOST),
        "LEADCONVERTER_RATE": "10000/s",
        "LEADCONVERTER_BURST": "10000",
        **BITRIX24_LIMITS,
    }


@pytest.fixture(scope="module")
def host_clusters(network, django_db_setup, tmp_path_factory) -> Iterator[HostClusters]:
    """The hosts' clusters, kept for the whole module (each start costs seconds of Django's
    startup), and stopped however it ends."""
    clusters = HostClusters(network.hosts, tmp_path_factory.mktemp("hosts"), cwd=settings.BASE_DIR)
    try:
        yield clusters
    finally:
        clusters.stop()


@pytest.fixture
def clusters(host_clusters, network) -> Iterator[HostClusters]:
    """A cluster on each host, every worker ready: started for the module's first test, and
    again on a host whose cluster a test killed. A test that leaves work behind (it failed)
    has them stopped: they would go on sending while the database is emptied for the next."""
    host_clusters.start_missing(lambda host: _host_env(host, network.emulator.credentials))
    wait_until(
        host_clusters.ready, "every host's workers to start", clusters=host_clusters, seconds=60
    )
    yield host_clusters
    if Campaign.objects.filter(status=Campaign.Status.RUNNING).exists() or not host_clusters.idle():
        host_clusters.stop()


def campaign_of(count: int, channel: str = "leadconverter") -> Campaign:
    """A draft campaign to `count` new recipients with an address on `channel`: written in SQL,
    as the ORM's inserts took seconds of the test on a busy machine."""
    template = MessageTemplate.objects.create(name=f"hosts {channel}", body="Hi {{ first_name }}")
    campaign = Campaign.objects.create(name=f"hosts {channel}", channel=channel, template=template)
    audience = Audience.objects.create(name=f"hosts {channel}")
    campaign.audiences.set([audience])
    # Table names from the models, values as parameters.
    recipients, addresses, members = (
        model._meta.db_table for model in (Recipient, Address, AudienceMember)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {recipients} (external_id, phone, first_name, last_name, "  # noqa: S608
            "attributes, created_at, updated_at) SELECT 'h-' || n, '', 'N' || n, '', '{}', "
            "now(), now() FROM generate_series(1, %s) AS n",
            [count],
        )
        cursor.execute(
            f"INSERT INTO {addresses} (channel, value, created_at, recipient_id) "  # noqa: S608
            f"SELECT %s, CAST(10000 + id AS TEXT), now(), id FROM {recipients}",
            [channel],
        )
        cursor.execute(
            f"INSERT INTO {members} (added_at, audience_id, recipient_id) "  # noqa: S608
            f"SELECT now(), %s, id FROM {recipients}",
            [audience.pk],
        )
    return campaign


CLAIMS_DELIVERIES = 10_000


def test_two_hosts_share_a_campaign_and_send_each_delivery_exactly_once(network, clusters):
    campaign = campaign_of(CLAIMS_DELIVERIES)
    campaign_dispatch(campaign_id=campaign.pk)
    wait_until(lambda: finished(campaign), "the campaign to complete", clusters=clusters)
    wait_until(clusters.idle, "every send task to end", clusters=clusters)
    per_host = {cluster.host.name: cluster.sent(campaign.pk) for cluster in clusters}
    messages = network.emulator.messages("leadconverter")
    received = Counter(message.address for message in messages)
    assert campaign.status == "completed"
    assert statuses(campaign) == {"sent": CLAIMS_DELIVERIES}
    assert len(received) == CLAIMS_DELIVERIES, "a delivery never reached the provider"
    assert max(received.values()) == 1, "a delivery reached the provider twice"
    assert network.emulator.stats()["providers"]["leadconverter"]["duplicates"] == 0
    # Each host's own account of what it sent: together, everything; each, some.
    assert sum(sent for _, sent in per_host.values()) == CLAIMS_DELIVERIES, per_host
    assert all(sent for _, sent in per_host.values()), per_host
    # And it all went across the links: each host reached every service at its gateway.
    for host in network.hosts:
        for port in (POSTGRES_PORT, REDIS_PORT, EMULATOR_PORT):
            assert network.listeners[host.name, port].accepted, (host, port)
        assert not host.reaches("127.0.0.1", POSTGRES_PORT)
    moments = sorted(message.at for message in messages)
    seconds = moments[-1] - moments[0]
    print(
        f"\nclaims: {CLAIMS_DELIVERIES:,} LeadConverter deliveries in {seconds:.1f} s, "
        f"{CLAIMS_DELIVERIES / seconds:,.0f}/s; "
        + "; ".join(
            f"{name}: {sent:,} in {requests} requests, {sent / seconds:,.0f}/s"
            for name, (requests, sent) in per_host.items()
        )
    )


LIMIT_MESSAGES = 7_500  # 150 requests of 50


def test_two_hosts_together_never_cross_a_providers_limit(network, clusters):
    campaign = campaign_of(LIMIT_MESSAGES, channel="bitrix24")
    # Connected, as *Connect Bitrix24* would leave it: the hosts share the tokens, stored under
    # the portal's host name (127.0.0.1, here as on the hosts).
    answer = network.emulator.bitrix24_tokens()
    expires_at = timezone.now() + timedelta(seconds=answer["expires_in"])
    tokens = Tokens(answer["access_token"], answer["refresh_token"], expires_at)
    DatabaseTokenStore(bitrix24_portal()).save(tokens)
    campaign_dispatch(campaign_id=campaign.pk)
    wait_until(
        lambda: finished(campaign), "the campaign to complete", clusters=clusters, tick_every=1
    )
    wait_until(clusters.idle, "every send task to end", clusters=clusters)
    per_host = {cluster.host.name: cluster.sent(campaign.pk) for cluster in clusters}
    stats = network.emulator.stats()["providers"]["bitrix24"]
    moments = sorted(message.at for message in network.emulator.messages("bitrix24"))
    assert statuses(campaign) == {"sent": LIMIT_MESSAGES}
    assert stats["refusals"] == {}, stats["refusals"]
    assert stats["over_limit"] == 0
    assert stats["distinct"] == stats["messages"] == LIMIT_MESSAGES
    assert all(requests for requests, _ in per_host.values()), per_host
    # The limit was what held them back (or nothing was shown): near the allowed rate.
    seconds = moments[-1] - moments[0]
    rate = (stats["requests"] - BITRIX24_BURST) / seconds
    assert rate >= 0.8 * BITRIX24_ALLOWED, f"{rate:.1f} requests/s: the limit never pressed"
    # The emulator counts requests in windows of a (scaled) second's fraction.
    windows = stats["requests_per_window"]
    per_second = round(1 / stats["window_seconds"])
    busiest = max(sum(windows[i : i + per_second]) for i in range(len(windows)))
    print(
        f"\nlimit: {LIMIT_MESSAGES:,} Bitrix24 messages in {stats['requests']} requests over "
        f"{seconds:.1f} s; after the burst of {BITRIX24_BURST}, {rate:.2f} requests/s "
        f"({rate / BITRIX24_ALLOWED:.2f} of {BITRIX24_ALLOWED} allowed); busiest second "
        f"{busiest}; {stats['over_limit']} over the limit; "
        + "; ".join(f"{name}: {requests} requests" for name, (requests, _) in per_host.items())
    )


KILL_DELIVERIES = 10_000


def test_a_host_killed_mid_send_the_other_finishes_and_nothing_goes_twice(network, clusters):
    campaign = campaign_of(KILL_DELIVERIES)
    doomed, survivor = clusters
    senders_before = doomed.senders_started(), survivor.senders_started()
    campaign_dispatch(campaign_id=campaign.pk)
    wait_until(
        lambda: (
            doomed.senders_started() > senders_before[0]
            and survivor.senders_started() > senders_before[1]
        ),
        "both hosts to start sending",
        clusters=clusters,
    )

    def mid_send() -> bool:
        """A quarter sent, and a send task under way on the host to kill (it holds claims)."""
        if finished(campaign):
            pytest.fail(f"the campaign ended before {doomed.host.name} could be killed mid-send")
        sent = len(network.emulator.messages("leadconverter"))
        return sent >= KILL_DELIVERIES // 4 and not doomed.idle()

    wait_until(mid_send, "a quarter of the messages", clusters=clusters)
    doomed.kill()
    killed_at = time.monotonic()
    sent_before = len(network.emulator.messages("leadconverter"))
    orphaned, in_flight = _orphaned_claims(campaign)
    recovered = _back_in_play(orphaned, clusters) - killed_at
    wait_until(lambda: finished(campaign), "the survivor to finish", clusters=clusters)
    wait_until(survivor.idle, "every send task to end", clusters=clusters)
    survivor_requests, survivor_sent = survivor.sent(campaign.pk)
    received = Counter(m.address for m in network.emulator.messages("leadconverter"))
    final = dict(Delivery.objects.filter(campaign=campaign).values_list("id", "status"))
    address = dict(Delivery.objects.filter(campaign=campaign).values_list("id", "address"))
    assert orphaned, "the killed host held no claim when it died: nothing was shown"
    assert max(received.values()) == 1, "a delivery reached the provider twice"
    assert set(final.values()) <= {"sent", "unknown"}
    # What the dead host claimed but had not begun: sent by the survivor, once.
    assert {final[pk] for ids in orphaned.values() for pk in ids} == {"sent"}
    # Only requests under way at the kill may have reached the provider unanswered.
    unknown = {pk for pk, status in final.items() if status == "unknown"}
    assert unknown <= in_flight
    sent = {address[pk] for pk, status in final.items() if status == "sent"}
    assert sent <= set(received)
    assert set(received) - sent <= {address[pk] for pk in unknown}
    assert survivor_sent >= sum(len(ids) for ids in orphaned.values())
    print(
        f"\nkill: {sent_before:,} of {KILL_DELIVERIES:,} sent when {doomed.host.name} was "
        f"killed holding {sum(len(ids) for ids in orphaned.values()):,} claimed deliveries; "
        f"back in play after {recovered:.1f} s (lease {LEASE_SECONDS} s); "
        f"{survivor.host.name} sent {survivor_sent:,} in {survivor_requests} requests; "
        f"{len(unknown)} unknown, 0 twice"
    )


def _orphaned_claims(campaign: Campaign) -> tuple[dict, set[int]]:
    """Right after a kill: the claims nobody renews (the dead host's), as {token: not-begun ids},
    and every row whose request was under way.

    A live sender renews its claims every third of a lease; so a claim whose rows still carry
    the lease they had at the kill a second before it runs out has no live sender.
    """
    sending = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENDING)
    in_flight = set(sending.exclude(request_started_at=None).values_list("id", flat=True))
    claims: dict = {}
    for pk, token, lease in sending.filter(request_started_at=None).values_list(
        "id", "claim_token", "lease_expires_at"
    ):
        claims.setdefault((token, lease), set()).add(pk)
    orphaned = {}
    for (token, lease), ids in sorted(claims.items(), key=lambda item: item[0][1]):
        wait = (lease - timezone.now()).total_seconds() - 1
        if wait > 0:
            time.sleep(wait)
        if Delivery.objects.filter(
            id__in=ids, claim_token=token, lease_expires_at=lease, status=Delivery.Status.SENDING
        ).exists():
            orphaned.setdefault(token, set()).update(ids)
    return orphaned, in_flight


def _back_in_play(orphaned: dict, clusters: HostClusters) -> float:
    """When none of the orphaned rows carries its dead claim any more (monotonic seconds)."""

    def released() -> bool:
        return not any(
            Delivery.objects.filter(id__in=ids, claim_token=token).exists()
            for token, ids in orphaned.items()
        )

    wait_until(released, "the dead host's claims to be released", clusters=clusters, seconds=60)
    return time.monotonic()
