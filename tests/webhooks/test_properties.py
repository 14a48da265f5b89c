"""Whatever is posted, the endpoint answers 200, 400, 413 or 401, never 500, and keeps it.

Hypothesis runs every example inside one test's transaction (the database is not reset
between examples), so the assertions compare counts with their value before the example.
"""

import base64
import json

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.conftest import SECRET, TS, post
from webhooks.models import InboundWebhook

pytestmark = pytest.mark.django_db

# Text with everything in it, and often the characters databases refuse (NUL, lone surrogates).
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=20) | st.sampled_from(
    ["", "\x00", "a\x00b", "\ud800", "x\udfff", "\u2028", "é", "x" * 300]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
# Fields that look like Sendios' often enough to reach the per-event validation.
plausible_numbers = st.integers(min_value=-5, max_value=2**64) | st.sampled_from(
    [TS, str(TS), float(TS), TS * 1000, "15", 15.5, True, None]
)
events = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["sms_sent", "sms_lost", "sms_click", "sent", "reject"])
        | json_values
    },
    optional={
        "sms_id": plausible_numbers | json_values,
        "ts": plausible_numbers | json_values,
        "client_user_id": any_text | st.none() | st.integers() | json_values,
        "project_id": plausible_numbers,
        "template_id": plausible_numbers,
        "link": any_text | json_values,
        "channel": any_text,
    },
)
documents = (
    json_values
    | st.lists(events | json_values, max_size=5)
    | st.dictionaries(st.sampled_from(["0", "1", "2", "10", "sign", "x"]), events | json_values)
    | events
)
bodies = documents.map(lambda document: json.dumps(document).encode()) | st.binary(max_size=200)

LIMIT = 1000
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    # The database fixture is meant to be shared by the examples; counts are relative.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@override_settings(SMS_WEBHOOK_MAX_BODY_BYTES=LIMIT)
@EXAMPLES
@given(body=bodies | st.binary(min_size=LIMIT + 1, max_size=LIMIT + 50))
def test_any_authenticated_body_is_answered_and_kept(client, body):
    before = InboundWebhook.objects.count()
    response = post(client, body)
    assert response.status_code in {200, 400, 413}, response.content
    assert InboundWebhook.objects.count() == before + 1
    inbound = InboundWebhook.objects.order_by("pk").last()
    assert (
        inbound.status == {200: "processed", 400: "rejected", 413: "rejected"}[response.status_code]
    )
    if response.status_code != 413:
        assert bytes(inbound.body) == body


@settings(EXAMPLES, max_examples=50)
@given(body=bodies, password=st.none() | any_text.filter(lambda text: text != SECRET))
def test_any_body_without_our_secret_gets_401_and_is_not_kept(body, password):
    before = InboundWebhook.objects.count()
    client = Client()
    extra = {}
    if password is not None:
        raw = f"sendios:{password}".encode("utf-8", "surrogatepass")
        extra["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
    response = post(client, body, password=None, **extra)
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == before
