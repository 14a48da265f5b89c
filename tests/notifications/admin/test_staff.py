"""Staff and groups: the permissions picker and the API key page read in the staff's language,
though Django and the API key library store and ship those names in English."""

import re

import pytest
from django.contrib.auth.models import Permission

from notifications.admin.staff import permission_label

pytestmark = pytest.mark.django_db


def options(html: str) -> list[str]:
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", html)


def test_a_groups_permissions_read_in_russian(staff):
    staff.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
    labels = options(staff.get("/admin/auth/group/add/").content.decode())
    assert (
        len(labels)
        == Permission.objects.exclude(content_type__app_label="rest_framework_api_key").count()
    )
    assert "Рассылки и получатели | рассылка | Добавление: рассылка" in labels
    dispatch = "Отправка, планирование, пауза, продолжение и отмена рассылок"
    assert f"Рассылки и получатели | рассылка | {dispatch}" in labels
    # Django's stored English ("Can add campaign") is nowhere.
    assert not [label for label in labels if " Can " in label]


def test_in_english_the_labels_say_what_djangos_did(staff):
    labels = options(staff.get("/admin/auth/group/add/").content.decode())
    assert "Notifications | campaign | Can add: campaign" in labels
    campaign_dispatch = Permission.objects.get(codename="dispatch_campaign")
    assert permission_label(campaign_dispatch) == (
        "Notifications | campaign | Can dispatch, schedule, pause, resume and cancel campaigns"
    )


def test_a_users_page_uses_the_same_labels(staff, admin_user):
    staff.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
    page = staff.get(f"/admin/auth/user/{admin_user.pk}/change/").content.decode()
    assert "Рассылки и получатели | рассылка | Удаление: рассылка" in options(page)


def test_the_api_key_page_reads_in_russian(staff):
    staff.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
    page = staff.get("/admin/notifications/integrationkey/add/").content.decode()
    assert "Для чего ключ, например какая интеграция им пользуется" in page
    assert "Отозванный ключ перестаёт работать сразу и навсегда." in page
    assert "free-form" not in page
    assert "cannot be undone" not in page


def test_every_permission_label_is_russian_under_russian(staff):
    """Apart from product names, no English is left in the picker: the background tasks' app is
    named through our catalogue and the API key library's unused model is not offered."""
    staff.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
    labels = options(staff.get("/admin/auth/group/add/").content.decode())
    english = {
        word
        for label in labels
        for word in re.findall(r"[A-Za-z]{2,}", label)
        if word not in {"API", "Bitrix", "SMS"}
    }
    assert not english
