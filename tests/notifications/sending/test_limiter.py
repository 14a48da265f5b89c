"""The shared limiter: GCRA rate and burst, holds and parallel slots, in both backends."""

import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from notifications.providers.limits import Limits
from notifications.sending.limiter import DatabaseBackend, Limiter, RedisBackend, Rule, _gcra

REDIS_TEST_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["database", "redis"])
def backend(request, db):
    if request.param == "database":
        return DatabaseBackend()
    if not redis_answers():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    redis_backend = RedisBackend(REDIS_TEST_URL)
    for key in redis_backend.client.scan_iter(redis_backend.prefix + "test:*"):
        redis_backend.client.delete(key)
    return redis_backend


def test_gcra_allows_the_burst_at_once_then_spaces_requests_by_the_interval():
    rule = Rule(interval=0.5, burst=3, parallel=None)
    tat, waits = 0.0, []
    for _ in range(5):
        wait, tat = _gcra(100.0, tat, 0.0, rule, max_wait=10)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_gcra_refuses_without_reserving_when_the_wait_is_too_long():
    rule = Rule(interval=10, burst=1, parallel=None)
    wait, tat = _gcra(0.0, 5.0, 0.0, rule, max_wait=1)
    assert (wait, tat) == (5.0, None)


def test_gcra_waits_out_a_hold():
    wait, _ = _gcra(100.0, 0.0, 130.0, Rule(interval=1, burst=5, parallel=None), max_wait=60)
    assert wait == 30.0


def test_the_burst_goes_at_once_and_the_rest_waits_its_turn(backend):
    limits = Limits(batch_size=1, rate="2/s", burst=3)
    limiter = Limiter(backend)
    waits = [limiter.acquire("test:burst", limits, max_wait=10) for _ in range(5)]
    assert waits[:3] == [pytest.approx(0, abs=0.05)] * 3
    assert waits[3] == pytest.approx(0.5, abs=0.05)
    assert waits[4] == pytest.approx(1.0, abs=0.05)


def test_a_refusal_reserves_nothing(backend):
    limits = Limits(batch_size=1, rate="1/h", burst=1)
    limiter = Limiter(backend)
    assert limiter.acquire("test:refuse", limits, max_wait=1) == pytest.approx(0, abs=0.05)
    assert limiter.acquire("test:refuse", limits, max_wait=1) is None
    assert limiter.acquire("test:refuse", limits, max_wait=1) is None
    assert limiter.acquire("test:refuse", limits, max_wait=4000) == pytest.approx(3600, abs=1)


def test_a_hold_stops_every_worker_until_the_time_given(backend):
    limits = Limits(batch_size=1, rate="100/s", burst=10)
    limiter = Limiter(backend)
    limiter.hold("test:hold", until=time.time() + 30, reason="420 from the provider")
    assert limiter.acquire("test:hold", limits, max_wait=5) is None
    assert limiter.acquire("test:hold", limits, max_wait=60) == pytest.approx(30, abs=1)
    assert limiter.state("test:hold").hold_reason == "420 from the provider"


def test_parallel_slots_are_capped_and_free_again(backend):
    limits = Limits(batch_size=1, rate="100/s", parallel=2)
    limiter = Limiter(backend)
    with limiter.slot("test:slots", limits, max_wait=0, lease=30) as first:
        with limiter.slot("test:slots", limits, max_wait=0, lease=30) as second:
            with limiter.slot("test:slots", limits, max_wait=0.2, lease=30) as third:
                assert (first, second, third) == (True, True, False)
            assert limiter.state("test:slots").in_flight == 2
        with limiter.slot("test:slots", limits, max_wait=0, lease=30) as again:
            assert again is True


def test_a_dead_workers_slot_frees_itself_when_its_lease_ends(backend):
    assert backend.take_slot("test:lease", 1, 0.2) is not None
    assert backend.take_slot("test:lease", 1, 0.2) is None
    time.sleep(0.3)
    assert backend.take_slot("test:lease", 1, 0.2) is not None


def test_the_safety_margin_spaces_requests_a_little_wider_than_the_rate(backend):
    limits = Limits(batch_size=1, rate="10/s", burst=1)
    limiter = Limiter(backend, margin=0.02)
    waits = [limiter.acquire("test:margin", limits, max_wait=10) for _ in range(3)]
    assert waits[1] == pytest.approx(0.102, abs=0.01)
    assert waits[2] == pytest.approx(0.204, abs=0.01)


def test_switched_off_it_never_waits():
    limiter = Limiter(DatabaseBackend(), enabled=False)
    limits = Limits(batch_size=1, rate="1/h")
    assert [limiter.acquire("test:off", limits, max_wait=0) for _ in range(3)] == [0.0] * 3


WORKER = """
import os, sys, time, django
django.setup()
from notifications.providers.base import Limits
from notifications.sending.limiter import get_limiter
limiter = get_limiter()
limits = Limits(batch_size=1, rate="40/s", burst=1)
for _ in range(int(sys.argv[1])):
    wait = limiter.acquire("test:processes", limits, max_wait=60)
    time.sleep(wait)
    print(time.time(), flush=True)
"""


@pytest.mark.parametrize("store", ["database", "redis"])
@pytest.mark.django_db(transaction=True)
def test_workers_in_separate_processes_share_one_rate(store, postgres_only):
    if store == "redis" and not redis_answers():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": REDIS_TEST_URL if store == "redis" else "",
    }
    if store == "redis":
        RedisBackend(REDIS_TEST_URL).client.delete("vestnik:ratelimit:test:processes")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, "20"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    starts = sorted(float(line) for w in workers for line in w.communicate(timeout=60)[0].split())
    assert all(w.returncode == 0 for w in workers)
    assert len(starts) == 80
    # 40/s with no burst: no second may hold more than 40 starts (sleep jitter allows 1).
    for i, start in enumerate(starts):
        within_a_second = sum(1 for later in starts[i:] if later - start < 1.0)
        assert within_a_second <= 41
    assert starts[-1] - starts[0] >= 79 / 40 - 0.1


def _test_database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"
