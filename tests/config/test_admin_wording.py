"""Django admin's sentences with a model's name in them read right in Russian: ours replace
Django's (config/admin_wording.py), and each is still a sentence Django says."""

import gettext
from pathlib import Path

import django.contrib.admin
import pytest
from django.urls import reverse
from django.utils import translation

from config.admin_wording import WORDINGS
from notifications.models import Campaign, MessageTemplate

ADMIN_LOCALE = Path(django.contrib.admin.__file__).parent / "locale"


def _msgid(wording: object) -> str:
    # ngettext_lazy (number unknown) keeps its msgids as the lazy call's keyword arguments.
    return wording if isinstance(wording, str) else wording._kw["singular"]


def test_every_wording_is_one_django_says():
    """A Django upgrade that rewords one of these makes ours dead weight: fail, to look."""
    django_says = gettext.translation("django", ADMIN_LOCALE, languages=["ru"])._catalog
    said = {key if isinstance(key, str) else key[0] for key in django_says}
    missing = [_msgid(w) for w in WORDINGS if _msgid(w) not in said]
    assert not missing


@pytest.mark.parametrize("wording", WORDINGS, ids=lambda w: _msgid(w)[:40])
def test_ours_replaces_djangos_wording(wording):
    django_ru = gettext.translation("django", ADMIN_LOCALE, languages=["ru"])
    with translation.override("ru"):
        if isinstance(wording, str):
            ours, theirs = translation.gettext(wording), django_ru.gettext(wording)
        else:
            singular = _msgid(wording)
            plural = wording._kw["plural"]
            ours = translation.ngettext(singular, plural, 5)
            theirs = django_ru.ngettext(singular, plural, 5)
    assert ours != theirs


def test_admin_pages_keep_the_name_in_the_nominative(admin_client):
    template = MessageTemplate.objects.create(name="Весна", body="Привет")
    campaign = Campaign.objects.create(name="Весна", channel="imshop", template=template)
    admin_client.post(reverse("set_language"), {"language": "ru", "next": "/admin/"})

    listing = admin_client.get(reverse("admin:notifications_messagetemplate_changelist"))
    adding = admin_client.get(reverse("admin:notifications_messagetemplate_add"))
    changing = admin_client.get(
        reverse("admin:notifications_messagetemplate_change", args=[template.pk])
    )
    pages = "".join(p.content.decode() for p in (listing, adding, changing))
    assert "Выбор для изменения: шаблон сообщения" in pages
    assert "Добавление: шаблон сообщения" in pages
    assert "Изменение: шаблон сообщения" in pages
    # Django's own Russian: the accusative the phrase needs, given the nominative.
    assert "Выберите шаблон сообщения для изменения" not in pages
    assert "Добавить шаблон сообщения" not in pages

    deleting = admin_client.get(reverse("admin:notifications_campaign_delete", args=[campaign.pk]))
    assert "Удалить: рассылка «Весна»?" in deleting.content.decode()


def test_a_lists_count_names_its_rows_in_the_nominative(admin_client):
    for n in range(3):
        MessageTemplate.objects.create(name=f"Весна {n}", body="Привет")
    admin_client.post(reverse("set_language"), {"language": "ru", "next": "/admin/"})
    page = admin_client.get(reverse("admin:notifications_messagetemplate_changelist"))
    text = page.content.decode()
    assert "шаблоны сообщений: 3" in text
    assert "3 шаблоны сообщений" not in text


def test_in_english_a_lists_count_reads_as_djangos(admin_client):
    MessageTemplate.objects.create(name="Spring", body="Hi")
    page = admin_client.get(reverse("admin:notifications_messagetemplate_changelist"))
    assert "\n1 message template\n" in page.content.decode()
    MessageTemplate.objects.create(name="Summer", body="Hi")
    page = admin_client.get(reverse("admin:notifications_messagetemplate_changelist"))
    assert "\n2 message templates\n" in page.content.decode()
