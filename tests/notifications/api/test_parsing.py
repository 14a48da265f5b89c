"""Request bodies: every write operation of the schema takes JSON, and only JSON of sane depth.

The operations come from the served schema, so one added later is covered without editing here.
"""

import json

import pytest

from notifications.api.parsers import MAX_JSON_DEPTH
from notifications.models import Recipient, RecipientAttribute
from outbound.models import Message
from outbound.services import endpoint_create
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def write_operations(schema) -> list[tuple[str, str]]:
    """(method, URL) of every operation that may carry a body, ids (an attribute's: its name)
    naming existing rows."""
    recipient = make_recipient(external_id="c-1")
    audience = make_audience(recipient)
    endpoint = endpoint_create(url="https://hooks.example.com/in", events=["sms.sent"])
    ids = {
        "recipients": recipient.pk,
        "audiences": audience.pk,
        "templates": make_template().pk,
        "campaigns": make_campaign(audience).pk,
        "attributes": RecipientAttribute.objects.create(name="city").name,
        "webhook-endpoints": endpoint.pk,
        "webhook-messages": Message.objects.create(
            endpoint=endpoint,
            stream=0,
            first_event_id=1,
            last_event_id=1,
            event_count=1,
            body='{"events": []}',
        ).pk,
    }
    operations = []
    for path, methods in schema["paths"].items():
        resource = path.split("/")[2]
        key = str(ids.get(resource, ""))
        url = path.replace("{id}", key).replace("{name}", key)
        operations.extend((method, url) for method in methods if method in WRITE_METHODS)
    return operations


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def answers(api, operations, body: str, content_type: str = "application/json") -> dict:
    """The status and detail each operation answers with this body."""
    api.raise_request_exception = False
    seen = {}
    for method, url in operations:
        response = api.generic(method.upper(), url, body, content_type=content_type)
        detail = response.json().get("detail") if response.status_code < 500 else None
        seen[f"{method.upper()} {url}"] = (response.status_code, detail)
    return seen


def test_a_thousand_nested_arrays_are_refused_with_400_by_every_write_operation(
    api, write_operations
):
    # 17 with a documented body, and pause, resume, cancel and retry-failed, which take none.
    assert len(write_operations) >= 21
    seen = answers(api, write_operations, nested_arrays(1000))
    too_deep = f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels."
    assert seen == dict.fromkeys(seen, (400, too_deep))


def test_nesting_one_level_past_the_limit_is_refused_by_every_write_operation(
    api, write_operations
):
    seen = answers(api, write_operations, nested_arrays(MAX_JSON_DEPTH + 1))
    assert {status for status, _ in seen.values()} == {400}
    assert all("nested deeper" in detail for _, detail in seen.values()), seen


def test_objects_nested_past_the_limit_in_one_bulk_item_refuse_the_whole_request(api):
    deep = json.loads('{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH)
    body = {"recipients": [{"external_id": "c-1"}, {"external_id": "c-2", "attributes": deep}]}
    response = api.post("/api/recipients/bulk/", body, format="json")
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    assert not Recipient.objects.exists()


def test_nesting_at_the_limit_reaches_the_serializer(api):
    body = json.dumps({"name": json.loads(nested_arrays(MAX_JSON_DEPTH - 1))})
    response = api.post("/api/audiences/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"name": ["Not a valid string."]}


def test_every_operation_with_a_body_advertises_json_alone(schema):
    bodies = [
        operation["requestBody"]["content"]
        for methods in schema["paths"].values()
        for operation in methods.values()
        if "requestBody" in operation
    ]
    assert len(bodies) >= 17
    assert all(list(content) == ["application/json"] for content in bodies)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"]
)
def test_a_form_body_is_refused_as_an_unsupported_media_type(api, content_type):
    response = api.generic("POST", "/api/audiences/", "name=Spring", content_type=content_type)
    assert response.status_code == 415
    assert response.json()["detail"] == f'Unsupported media type "{content_type}" in request.'
