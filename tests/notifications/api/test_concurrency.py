"""Idempotent replay under concurrent identical requests, on PostgreSQL with real threads."""

import threading

import pytest
from django.db import connection

from notifications.api.keys import integration_key_create
from notifications.models import Campaign
from tests.factories import make_recipient
from tests.notifications.api.conftest import client_with

BODY = {"channel": "imshop", "recipients": ["c-1"], "content": {"title": "T", "body": "B"}}


@pytest.mark.django_db(transaction=True)
def test_identical_requests_at_once_create_one_message(postgres_only):
    make_recipient(external_id="c-1")
    _, secret = integration_key_create(name="shop")
    answers: list[tuple[int, int]] = []
    start = threading.Barrier(6)

    def post() -> None:
        try:
            client = client_with(secret)
            start.wait()
            response = client.post(
                "/api/messages/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="order-1"
            )
            answers.append((response.status_code, response.json()["campaign"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 6
    assert {status for status, _ in answers} == {202}
    assert len({campaign for _, campaign in answers}) == 1
    assert Campaign.objects.filter(kind="transactional").count() == 1
