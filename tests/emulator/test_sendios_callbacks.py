"""Sendios SMS callbacks after Imshop pushes: Sendios' body format, repeats and disorder, posted
in the background, reaching our real webhook and linking to campaign, delivery and recipient."""

import base64
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from emulator import CallbackMix
from notifications.models import Delivery, DeliveryEvent
from notifications.providers.registry import get_provider
from tests.emulator.conftest import message
from tests.factories import make_campaign, make_recipient
from webhooks.models import InboundWebhook
from webhooks.sendios import RejectedEvent, SendiosEvent, parse_body

SECRET = "test-webhook-secret"  # tests/settings.py


class Capture:
    """A webhook endpoint that keeps every body and Authorization header it is sent."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.authorizations: list[str] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                capture.bodies.append(body)
                capture.authorizations.append(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/sms/"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def events(self) -> list[SendiosEvent]:
        parsed = [
            item.result
            for body in self.bodies
            for item in parse_body(body, received_at=timezone.now()).items
        ]
        assert not [event for event in parsed if isinstance(event, RejectedEvent)]
        return parsed


@pytest.fixture
def capture():
    endpoint = Capture()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def push(users: list[str], deeplink: str = "app://sale") -> None:
    group = [
        message(n, user, title="Sale", body="Today", deeplink=deeplink)
        for n, user in enumerate(users)
    ]
    get_provider("imshop").send(group)


def test_callbacks_come_after_the_push_answer_in_sendios_format(make_emulator, pointed, capture):
    mix = CallbackMix(
        lost=0.0, click=1.0, repeat=0.0, reorder=0.0, delay_seconds=0.3, project_id=5, template_id=6
    )
    emulator = make_emulator(webhook_url=capture.url, webhook_secret=SECRET, sendios=mix)
    pointed(emulator)
    push(["u1", "u2"])
    assert capture.bodies == []  # the push was answered before any callback went out
    assert emulator.wait_for_callbacks(timeout=5)
    events = capture.events()
    assert sorted((e.type, e.client_user_id) for e in events) == [
        ("sms_click", "u1"),
        ("sms_click", "u2"),
        ("sms_sent", "u1"),
        ("sms_sent", "u2"),
    ]
    assert {(e.project_id, e.template_id) for e in events} == {(5, 6)}
    assert {e.link for e in events if e.type == "sms_click"} == {"app://sale"}
    assert {e.data["category_id"] for e in events} == {2}
    password = base64.b64decode(capture.authorizations[0].removeprefix("Basic ")).decode()
    assert password.endswith(f":{SECRET}")


def test_some_events_repeat_and_some_arrive_out_of_order(make_emulator, pointed, capture):
    mix = CallbackMix(lost=1.0, repeat=1.0, reorder=1.0, delay_seconds=0.01)
    emulator = make_emulator(webhook_url=capture.url, webhook_secret=SECRET, sendios=mix)
    pointed(emulator)
    push(["u1", "u2", "u3"])
    assert emulator.wait_for_callbacks(timeout=5)
    events = capture.events()
    for user in ("u1", "u2", "u3"):
        mine = [e for e in events if e.client_user_id == user]
        assert len(mine) == 3  # sent, lost and one of them again
        assert len({e.dedup_key for e in mine}) == 2
        assert [e.type for e in mine][:2] == ["sms_lost", "sms_sent"]
    assert emulator.stats()["sendios"]["posted_events"] == 9


def test_only_a_fraction_of_users_get_an_sms(make_emulator, pointed, capture):
    mix = CallbackMix(fraction=0.5, lost=0.0, click=0.0, repeat=0.0, delay_seconds=0.01)
    emulator = make_emulator(webhook_url=capture.url, webhook_secret=SECRET, sendios=mix, seed=3)
    pointed(emulator)
    push([f"u{n}" for n in range(200)])
    assert emulator.wait_for_callbacks(timeout=5)
    assert 60 < len(capture.events()) < 140


@pytest.mark.django_db(transaction=True)
def test_callbacks_reach_our_webhook_and_link_to_campaign_delivery_and_recipient(
    make_emulator, pointed, live_server
):
    recipients = [make_recipient(external_id=f"ext-{n}") for n in range(20)]
    campaign = make_campaign(
        status="running",
        started_at=timezone.now() - timedelta(minutes=1),
        sendios_project_id=5,
        sendios_template_id=6,
    )
    deliveries = {
        r.pk: Delivery.objects.create(campaign=campaign, recipient=r).pk for r in recipients
    }
    mix = CallbackMix(
        lost=0.3,
        click=0.5,
        repeat=0.3,
        reorder=0.3,
        delay_seconds=0.01,
        project_id=5,
        template_id=6,
    )
    emulator = make_emulator(
        webhook_url=f"{live_server.url}/webhooks/sms/", webhook_secret=SECRET, sendios=mix, seed=11
    )
    pointed(emulator)
    push([r.external_id for r in recipients])
    assert emulator.wait_for_callbacks(timeout=20)
    posted = emulator.stats()["sendios"]
    assert posted["answers"] == {"200": posted["posted_bodies"]}
    events = DeliveryEvent.objects.filter(type__startswith="sms_")
    assert events.filter(type="sms_sent").count() == 20
    assert {(e.campaign_id, e.delivery_id) for e in events} == {
        (campaign.pk, deliveries[e.recipient_id]) for e in events
    }
    assert None not in {e.recipient_id for e in events}
    inbox = InboundWebhook.objects.all()
    assert sum(i.rejected for i in inbox) == 0
    assert sum(i.accepted for i in inbox) == events.count()
    assert sum(i.duplicates for i in inbox) == posted["posted_events"] - events.count() > 0
