"""Concurrent deliveries of the same events, on PostgreSQL with real threads and connections."""

import random
import threading

import pytest
from django.db import connection
from django.test import Client

from notifications.models import DeliveryEvent
from tests.webhooks.conftest import post, sendios_body, sms_event
from webhooks.models import InboundEvent, InboundWebhook

THREADS = 8
EVENTS = [
    sms_event(sms_id=n, event=name) for n in range(1, 11) for name in ("sms_sent", "sms_lost")
]


def post_at_once(bodies: list[bytes]) -> list[dict]:
    """Post each body from its own thread, all released together; the JSON answers."""
    barrier = threading.Barrier(len(bodies))
    answers: list[dict] = []
    errors: list[BaseException] = []

    def deliver(body: bytes) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = post(client, body)
            assert response.status_code == 200, response.content
            answers.append(response.json())
        except BaseException as exc:  # reported by the main thread, with the others
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return answers


@pytest.mark.django_db(transaction=True)
def test_the_same_body_posted_by_several_threads_at_once_is_stored_once(postgres_only):
    answers = post_at_once([sendios_body(*EVENTS)] * THREADS)
    assert sum(answer["accepted"] for answer in answers) == len(EVENTS)
    assert sum(answer["duplicates"] for answer in answers) == len(EVENTS) * (THREADS - 1)
    assert DeliveryEvent.objects.count() == len(EVENTS)
    assert InboundWebhook.objects.filter(status="processed").count() == THREADS
    assert InboundEvent.objects.filter(outcome="accepted").count() == len(EVENTS)


@pytest.mark.django_db(transaction=True)
def test_the_same_events_in_different_orders_at_once_are_stored_once(postgres_only):
    shuffler = random.Random(7)
    bodies = [sendios_body(*shuffler.sample(EVENTS, len(EVENTS))) for _ in range(THREADS)]
    answers = post_at_once(bodies)
    assert sum(answer["accepted"] for answer in answers) == len(EVENTS)
    assert DeliveryEvent.objects.count() == len(EVENTS)
