"""Reading Sendios bodies: what counts as an event, what is coerced, what is refused and why."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from notifications.reasons import reason_code, reason_text
from tests.webhooks.conftest import MISSING, TS, fixture_bytes, sendios_body, sms_event
from webhooks.sendios import RejectedEvent, SendiosBodyError, SendiosEvent, parse_body

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AT = datetime.fromtimestamp(TS, tz=UTC)


def parse(body: bytes):
    return parse_body(body, received_at=RECEIVED)


def only(body: bytes):
    """The result of a body's one event."""
    (item,) = parse(body).items
    return item.result


def reason(event: dict) -> str:
    result = only(sendios_body(event))
    assert isinstance(result, RejectedEvent)
    return reason_text(result.reason)


@pytest.mark.parametrize(
    ("name", "link"), [("sms_sent", ""), ("sms_lost", ""), ("sms_click", "example.com")]
)
def test_the_vendor_samples_read_as_one_sms_event_each(name, link):
    event = only(fixture_bytes(f"{name}.json"))
    assert event == SendiosEvent(
        type=name,
        occurred_at=AT,
        data=json.loads(fixture_bytes(f"{name}.json"))["0"],
        sms_id=1233,
        ts=TS,
        link=link,
        client_user_id="test123",
        project_id=99,
        template_id=15,
    )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("sms_sent", "The body is not valid JSON: Extra data at line 14 column 1."),
        ("sms_lost", "The body is not valid JSON: Invalid control character at line 11 column 21."),
        ("sms_click", "The body is not valid JSON: Extra data at line 15 column 1."),
    ],
)
def test_the_vendor_samples_as_printed_are_refused_with_where_the_json_breaks(name, error):
    with pytest.raises(SendiosBodyError) as refused:
        parse(fixture_bytes(f"vendor_{name}_as_printed.txt"))
    assert reason_text(str(refused.value)) == error


def test_numeric_keys_are_events_and_other_keys_are_not():
    body = json.dumps(
        {"0": sms_event(sms_id=1), "sign": "abc", "1": sms_event(sms_id=2), "x1": {}}
    ).encode()
    items = parse(body).items
    assert [(item.position, item.key, item.result.sms_id) for item in items] == [
        (0, "0", 1),
        (1, "1", 2),
    ]


def test_an_array_of_events_is_read_with_the_indexes_as_keys():
    items = parse(json.dumps([sms_event(sms_id=1), sms_event(sms_id=2)]).encode()).items
    assert [(item.key, item.result.sms_id) for item in items] == [("0", 1), ("1", 2)]


def test_a_single_event_object_is_read_with_an_empty_key():
    items = parse(json.dumps(sms_event(sms_id=7)).encode()).items
    assert [(item.key, item.result.sms_id) for item in items] == [("", 7)]


def test_a_byte_order_mark_is_tolerated():
    assert only(b"\xef\xbb\xbf" + fixture_bytes("sms_sent.json")).sms_id == 1233


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "The body is empty: expected JSON events."),
        (b"  \n", "The body is empty: expected JSON events."),
        (b"\xff\xfe", "The body is not UTF-8 text: byte 0 cannot be decoded."),
        (
            b"{",
            "The body is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1 column 2.",
        ),
        (b"sms_id=1233", "The body is not valid JSON: Expecting value at line 1 column 1."),
        (b"42", "The body is JSON a number, not an object or an array of events."),
        (b'"x"', "The body is JSON a string, not an object or an array of events."),
        (b"null", "The body is JSON null, not an object or an array of events."),
        (b'{"0": NaN}', "The body is not usable JSON: NaN is not a JSON number."),
        (b'{"0": 1e999}', "The body is not usable JSON: the number 1e999 is out of range."),
        (b"[" * 100_000 + b"]" * 100_000, "The body is not usable JSON: it is nested too deeply."),
    ],
)
def test_a_body_that_is_not_usable_json_is_refused_with_a_sentence(body, error):
    with pytest.raises(SendiosBodyError) as refused:
        parse(body)
    assert reason_text(str(refused.value)) == error


@pytest.mark.parametrize(
    "document", [{}, {"sign": None}, [], [1, "a", None], {"0": 5, "1": [], "sign": None}]
)
def test_a_body_without_any_event_object_is_refused(document):
    with pytest.raises(SendiosBodyError) as refused:
        parse(json.dumps(document).encode())
    assert reason_text(str(refused.value)) == (
        'The body holds no event object: expected numeric keys ("0", "1", ...) whose values '
        'are events, an array of events, or one event with an "event" field.'
    )


def test_an_integer_too_long_for_python_is_refused_with_a_sentence():
    with pytest.raises(SendiosBodyError) as refused:
        parse(b'{"0": {"sms_id": ' + b"9" * 5000 + b"}}")
    assert (
        reason_text(str(refused.value))
        == "The body is not usable JSON: a number has too many digits."
    )


@pytest.mark.parametrize(
    ("raw", "number"), [("15", 15), (" 15 ", 15), ("15.0", 15), (15.0, 15), (15, 15), (0, 0)]
)
def test_whole_numbers_are_read_from_numeric_strings_and_integral_floats(raw, number):
    assert only(sendios_body(sms_event(sms_id=raw))).sms_id == number


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("abc", '"sms_id" must be a whole number, not "abc".'),
        (True, '"sms_id" must be a whole number, not true.'),
        (15.5, '"sms_id" must be a whole number, not 15.5.'),
        ("1e3", '"sms_id" must be a whole number, not "1e3".'),
        ([1], '"sms_id" must be a whole number, not an array.'),
        ({"id": 1}, '"sms_id" must be a whole number, not an object.'),
        (-1, '"sms_id" -1 is out of range.'),
        ("-1", '"sms_id" -1 is out of range.'),
        (2**63, f'"sms_id" {2**63} is out of range.'),
    ],
)
def test_an_sms_id_whose_meaning_is_unclear_is_refused(raw, error):
    assert reason(sms_event(sms_id=raw)) == error


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("sms_id", 'The event has no "sms_id".'),
        ("ts", 'The event has no "ts".'),
        ("event", 'The event has no "event" field.'),
    ],
)
def test_an_sms_event_needs_event_sms_id_and_ts(field, error):
    assert reason(sms_event(**{field: MISSING})) == error


def test_a_null_sms_id_is_missing():
    assert reason(sms_event(sms_id=None)) == 'The event has no "sms_id".'


@pytest.mark.parametrize(
    "ts",
    [
        TS * 1000,  # milliseconds
        0,
        int(datetime(1999, 12, 31, tzinfo=UTC).timestamp()),
        int((RECEIVED + timedelta(days=2)).timestamp()),
    ],
)
def test_a_ts_far_out_of_range_is_refused(ts):
    assert reason(sms_event(ts=ts)) == (
        f'"ts" {ts} is not a time between 2000-01-01 and 2024-05-02 in unix seconds.'
    )


def test_a_ts_a_little_ahead_of_our_clock_is_accepted():
    ahead = int((RECEIVED + timedelta(minutes=5)).timestamp())
    assert only(sendios_body(sms_event(ts=ahead))).occurred_at == RECEIVED + timedelta(minutes=5)


def test_a_null_client_user_id_is_kept_as_none():
    assert only(sendios_body(sms_event(client_user_id=None))).client_user_id is None


def test_a_numeric_client_user_id_is_read_as_text():
    assert only(sendios_body(sms_event(client_user_id=123))).client_user_id == "123"


@pytest.mark.parametrize(
    ("field", "raw", "error"),
    [
        ("client_user_id", ["a"], '"client_user_id" must be text, not an array.'),
        ("client_user_id", "x" * 256, '"client_user_id" is longer than 255 characters.'),
        ("link", 5, '"link" must be text, not 5.'),
        ("project_id", "abc", '"project_id" must be a whole number, not "abc".'),
        ("template_id", 2**31, f'"template_id" {2**31} is out of range.'),
    ],
)
def test_a_field_that_does_not_fit_refuses_the_event(field, raw, error):
    assert reason(sms_event(**{field: raw})) == error


def test_missing_project_and_template_are_kept_as_none():
    event = only(sendios_body(sms_event(project_id=MISSING, template_id=None)))
    assert (event.project_id, event.template_id) == (None, None)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (5, '"event" must be a name, not 5.'),
        ("", '"event" must be a name, not "".'),
        ("x" * 33, '"event" is longer than 32 characters.'),
    ],
)
def test_an_event_name_that_is_not_a_short_name_is_refused(raw, error):
    assert reason(sms_event(event=raw)) == error


@pytest.mark.parametrize(
    "value",
    ["a\x00b", "\ud800", {"k\x00": 1}, [[[["\udfff"]]]]],
    ids=["nul", "surrogate", "key", "nested"],
)
def test_text_no_database_can_store_refuses_the_event(value):
    assert reason(sms_event(channel=value)).startswith("The event holds ")


def test_an_event_nested_deeper_than_32_levels_is_refused():
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    assert reason(sms_event(extra=nested)) == "The event is nested deeper than 32 levels."


def test_an_event_that_is_not_an_object_is_refused_and_the_others_kept():
    items = parse(json.dumps({"0": "sms_sent", "1": sms_event()}).encode()).items
    assert [type(item.result) for item in items] == [RejectedEvent, SendiosEvent]
    assert reason_text(items[0].result.reason) == "The event is a string, not a JSON object."


def test_unknown_event_types_are_kept_whole_under_their_own_name():
    email = {"event": "reject", "email": "a@example.com", "ts": TS, "project_id": 99}
    assert only(sendios_body(email)) == SendiosEvent(type="reject", occurred_at=AT, data=email)


def test_an_unknown_event_without_a_usable_ts_is_dated_when_received():
    assert only(sendios_body({"event": "created", "ts": "soon"})).occurred_at == RECEIVED


def test_repeats_of_an_event_share_a_dedup_key_whatever_their_other_fields():
    first = only(sendios_body(sms_event(sms_id=15, client_user_id="a")))
    repeat = only(sendios_body(sms_event(sms_id="15", ts=str(TS), client_user_id=None)))
    assert first.dedup_key == repeat.dedup_key
    assert len(first.dedup_key) == 64


@pytest.mark.parametrize(
    "change", [{"event": "sms_lost"}, {"sms_id": 1234}, {"ts": TS + 1}, {"link": "example.org"}]
)
def test_events_that_differ_in_identity_have_different_dedup_keys(change):
    base = sms_event(event="sms_click", link="example.com")
    assert only(sendios_body(base)).dedup_key != only(sendios_body({**base, **change})).dedup_key


def test_an_unknown_events_dedup_key_ignores_the_order_of_its_fields():
    one = only(b'{"event": "sent", "email": "a@example.com", "ts": 1}')
    other = only(b'{"ts": 1, "email": "a@example.com", "event": "sent"}')
    assert one.dedup_key == other.dedup_key


def test_a_rejection_under_a_russian_request_is_kept_as_a_code_and_reads_in_the_readers_language():
    with translation.override("ru"), pytest.raises(SendiosBodyError) as raised:
        parse_body(b"[1, 2", received_at=datetime.now(UTC))

    stored = str(raised.value)
    assert reason_code(stored) == "webhook_body_not_json"
    assert reason_text(stored).startswith("The body is not valid JSON: ")
    with translation.override("ru"):
        assert reason_text(stored).startswith("Тело запроса — некорректный JSON: ")
