"""`manage.py recount_audiences`: drifted list sizes corrected, segments counted."""

import pytest
from django.core.management import call_command
from django.utils import translation

from notifications.audiences.services import audience_save
from notifications.models import Audience
from tests.factories import make_audience, make_recipient

pytestmark = pytest.mark.django_db


def test_drifted_sizes_are_corrected_and_segments_counted(capsys):
    anna = make_recipient()
    vip = make_audience(anna, name="VIP")
    Audience.objects.filter(pk=vip.pk).update(size=5)
    everyone = audience_save(
        audience=None,
        data={
            "name": "Everyone",
            "kind": "segment",
            "rules": {"match": "all", "rules": [{"field": "opted_out", "op": "is_false"}]},
        },
    )
    make_recipient()
    call_command("recount_audiences")
    assert capsys.readouterr().out.splitlines() == [
        "Static lists: 1 checked, 1 corrected.",
        "Segment 'Everyone': 2 recipients.",
    ]
    assert Audience.objects.get(pk=vip.pk).size == 1
    assert Audience.objects.get(pk=everyone.pk).size == 2


@pytest.mark.parametrize(
    ("people", "line"),
    [
        (1, "Сегмент «Everyone»: 1 получатель."),
        (3, "Сегмент «Everyone»: 3 получателя."),
        (5, "Сегмент «Everyone»: 5 получателей."),
    ],
)
def test_segment_sizes_read_in_russian_with_the_counted_form(capsys, people, line):
    for _ in range(people):
        make_recipient()
    audience_save(
        audience=None,
        data={
            "name": "Everyone",
            "kind": "segment",
            "rules": {"match": "all", "rules": [{"field": "opted_out", "op": "is_false"}]},
        },
    )
    with translation.override("ru"):
        call_command("recount_audiences")
    assert capsys.readouterr().out.splitlines() == ["Списки: проверено 0, исправлено 0.", line]
