"""The message serializer checks the request's shape; `message_send` refuses the rest, and its
refusal reaches the client by field."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.api.serializers.messages import MessageSerializer
from notifications.campaigns.direct import MAX_MESSAGE_RECIPIENTS
from tests.factories import make_recipient, make_template

pytestmark = pytest.mark.django_db

CONTENT = {"title": "T", "body": "B"}


def test_the_serializer_takes_the_recipient_limit_from_the_service():
    ask = MessageSerializer(
        data={
            "channel": "imshop",
            "recipients": [f"c-{i}" for i in range(MAX_MESSAGE_RECIPIENTS + 1)],
            "content": CONTENT,
        }
    )
    assert not ask.is_valid()
    assert list(ask.errors) == ["recipients"]


def test_a_template_the_channel_cannot_send_is_400_on_template(api):
    make_recipient(external_id="c-1")
    template = make_template(title="", body="B")
    response = api.post(
        "/api/messages/",
        {"channel": "imshop", "recipients": ["c-1"], "template": template.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"template": ["title: Imshop pushes need a title."]}


def test_recipients_are_looked_up_once_per_message(api):
    make_recipient(external_id="c-1")
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            "/api/messages/",
            {"channel": "imshop", "recipients": ["c-1"], "content": CONTENT},
            format="json",
        )
    assert response.status_code == 202
    lookups = [q for q in queries if '"notifications_recipient"."external_id" IN' in q["sql"]]
    assert len(lookups) == 1
