import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin__first_run__creates_superuser_and_prints_password_once(capsys, monkeypatch):
    monkeypatch.delenv("OPS_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    first = capsys.readouterr().out
    password = first.split("password: ")[1].split()[0]
    assert authenticate(username="admin", password=password).is_superuser

    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert password not in second and "already exists" in second


def test_ensure_admin__password_from_environment(capsys, monkeypatch):
    monkeypatch.setenv("OPS_ADMIN_PASSWORD", "correct-horse-battery")
    call_command("ensure_admin", "--username", "ops")
    assert authenticate(username="ops", password="correct-horse-battery") is not None
    assert get_user_model().objects.get(username="ops").is_staff
