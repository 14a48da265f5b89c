"""A client generated from `/api/schema/` by a generator integrators use (openapi-python-client):
every module of it imports, and it carries a campaign from recipients to stats against a live
server whose provider is the emulator."""

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import get_args

import pytest
from django_q.conf import Conf

from emulator import Emulator
from notifications.api.keys import integration_key_create
from tests.emulator.conftest import CREDENTIALS

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "vestnik_client"


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory, django_db_blocker) -> Iterator[ModuleType]:
    """The generated package, importable for the module's tests and forgotten after them."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "generator.yaml"
    # The default hooks format the output with whatever ruff is on PATH; nobody reads this code.
    config.write_text("post_hooks: []\n")
    # This runs before any test's database fixture, and the server checks its connection
    # at each request even for the schema, which reads no rows.
    with django_db_blocker.unblock():
        generator = subprocess.run(
            [
                *(sys.executable, "-m", "openapi_python_client", "generate"),
                *("--url", f"{live_server.url}/api/schema/?format=json"),
                *("--meta", "none", "--output-path", str(root / PACKAGE)),
                *("--config", str(config), "--fail-on-warning"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert generator.returncode == 0, generator.stdout + generator.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def operation(name: str) -> ModuleType:
    """One generated operation, such as `campaigns.campaigns_create`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


@pytest.fixture
def emulator(settings) -> Iterator[Emulator]:
    """The providers' emulator, with our settings pointing at it.

    Its clock runs 60 times faster, so Imshop's 10 pushes a minute become 10 a second, and our
    limit for Imshop says the same: personalised pushes go one request each.
    """
    with Emulator(credentials=CREDENTIALS, time_scale=60) as emulator:
        for name, value in emulator.settings().items():
            setattr(settings, name, value)
        settings.IMSHOP_RATE = "10/s"
        yield emulator


@pytest.fixture
def tasks_run_at_commit(monkeypatch) -> None:
    """django-q2's sync mode runs each task where it is enqueued, once its transaction commits:
    the worker's part of a dispatch, with no cluster and nothing left in a broker."""
    monkeypatch.setattr(Conf, "SYNC", True)


def test_every_generated_module_imports(generated):
    names = [module.name for module in pkgutil.walk_packages(generated.__path__, f"{PACKAGE}.")]
    failures = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # every failure is reported, not just the first
            failures[name] = repr(exc)
    assert len(names) > 50
    assert failures == {}


def test_every_error_answer_is_the_one_error_type(generated):
    models = importlib.import_module(f"{PACKAGE}.models")
    per_operation = [name for name in dir(models) if "Response4" in name]
    assert per_operation == []
    audiences_create = operation("audiences.audiences_create")
    answers = get_args(audiences_create.sync.__annotations__["return"])
    assert set(answers) == {models.Audience, models.Error, type(None)}


def test_a_generated_client_sends_a_campaign_and_reads_its_stats(
    generated, live_server, emulator, tasks_run_at_commit
):
    _, secret = integration_key_create(name="generated")
    models = importlib.import_module(f"{PACKAGE}.models")
    # Closed at the end: a kept-alive connection would hold its server thread, and that
    # thread's database connection, open past the test.
    with generated.AuthenticatedClient(
        base_url=live_server.url, token=secret, prefix="Api-Key", raise_on_unexpected_status=True
    ) as client:
        audience = operation("audiences.audiences_create").sync(
            client=client, body=models.AudienceRequest(name="Spring")
        )
        assert isinstance(audience, models.Audience), audience
        people = [("c-1", "Ann", "Kazan"), ("c-2", "Bob", "Perm")]
        bulk = operation("recipients.recipients_bulk_create").sync(
            client=client,
            body=models.BulkRecipientsDocRequest(
                audience=audience.id,
                recipients=[
                    models.BulkRecipientItemRequest(
                        external_id=external_id,
                        first_name=first_name,
                        attributes=models.BulkRecipientItemRequestAttributes.from_dict(
                            {"city": city}
                        ),
                    )
                    for external_id, first_name, city in people
                ],
            ),
        )
        assert isinstance(bulk, models.BulkAnswer), bulk
        assert bulk.created == 2
        template = operation("templates.templates_create").sync(
            client=client,
            body=models.MessageTemplateRequest(
                name="Sale", title="Hi {{ first_name }}", body="Sale in {{ city }}"
            ),
        )
        assert isinstance(template, models.MessageTemplate), template
        campaign = operation("campaigns.campaigns_create").sync(
            client=client,
            body=models.CampaignRequest(
                name="Spring sale",
                channel=models.ChannelEnum.IMSHOP,
                template=template.id,
                audiences=[audience.id],
            ),
        )
        assert isinstance(campaign, models.Campaign), campaign

        dispatched = operation("campaigns.campaigns_dispatch_create").sync(
            str(campaign.id), client=client, body=models.DispatchRequest()
        )
        assert isinstance(dispatched, models.Campaign), dispatched

        stats = operation("campaigns.campaigns_stats_retrieve").sync(
            str(campaign.id), client=client
        )
    assert isinstance(stats, models.CampaignStats), stats
    assert stats.status == "completed"
    assert stats.deliveries["sent"] == 2
    assert stats.progress == 1.0
    assert sorted(message.address for message in emulator.messages("imshop")) == ["c-1", "c-2"]
