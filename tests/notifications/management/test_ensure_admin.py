"""`manage.py ensure_admin`: there is always a way to log in, and it is said once."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_creates_a_superuser_with_a_generated_password_and_prints_it(capsys, monkeypatch):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.split("with password: ")[1].split()[0]
    assert authenticate(username="admin", password=password).is_superuser


def test_uses_admin_password_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse battery")
    call_command("ensure_admin")
    assert authenticate(username="admin", password="correct horse battery") is not None


def test_an_existing_superuser_is_left_alone(capsys, django_user_model):
    django_user_model.objects.create_superuser("boss", password="secret-1")
    call_command("ensure_admin")
    assert "Log in as 'boss'" in capsys.readouterr().out
    assert django_user_model.objects.count() == 1
