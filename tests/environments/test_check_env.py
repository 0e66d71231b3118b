"""check_env: a process environment or env file against §7, without ever printing a value."""

import pytest
from django.core.management import CommandError, call_command

from environments.models import Environment
from environments.services import check_variables

pytestmark = pytest.mark.django_db

PRODUCTION_OK = {
    "DATABASE_URL": "postgres://app:hunter2-db-secret@db/amarise",
    "API_URL": "https://api.amarise.com",
    "SITE_URL": "https://amarise.com",
    "STRIPE_SECRET_KEY": "sk_live_very_secret_value",
    "EMAIL_API_KEY": "email-key-secret",
    "STORAGE_BUCKET": "amarise-production",
    "ANALYTICS_ID": "G-12345",
}


def _write_env(tmp_path, values):
    path = tmp_path / "production.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def test_check_variables__complete_production__passes(seeded):
    report = check_variables(Environment.objects.get(key="production"), PRODUCTION_OK)
    assert report.passed
    assert len(report.ok) == 7


def test_check_variables__empty_value__counts_as_missing(seeded):
    values = {**PRODUCTION_OK, "STRIPE_SECRET_KEY": "  "}
    report = check_variables(Environment.objects.get(key="production"), values)
    assert report.missing == ["STRIPE_SECRET_KEY (production only)"]


def test_check_variables__debug_true_in_production__unexpected(seeded):
    report = check_variables(Environment.objects.get(key="production"), {**PRODUCTION_OK, "DEBUG": "true"})
    assert report.unexpected == ["DEBUG=true: development only, not for production"]
    assert not report.passed


def test_check_variables__debug_false_in_production__fine(seeded):
    report = check_variables(Environment.objects.get(key="production"), {**PRODUCTION_OK, "DEBUG": "false"})
    assert report.passed


def test_check_variables__live_stripe_key_on_dev__unexpected_without_its_value(seeded):
    values = {"DATABASE_URL": "x", "API_URL": "x", "SITE_URL": "x", "DEBUG": "true", "VERBOSE_LOGGING": "true"}
    report = check_variables(Environment.objects.get(key="dev"), {**values, "STRIPE_SECRET_KEY": "sk_live_zzz"})
    assert report.unexpected == ["STRIPE_SECRET_KEY is set: production only, not for dev"]


def test_check_variables__dev_with_debug_off__wrong(seeded):
    values = {"DATABASE_URL": "x", "API_URL": "x", "SITE_URL": "x", "DEBUG": "false", "VERBOSE_LOGGING": "true"}
    report = check_variables(Environment.objects.get(key="dev"), values)
    assert report.wrong == ["DEBUG must be 'true'"]


def test_check_env__env_file_lacking_production_variables__lists_them_and_exits_1(seeded, tmp_path, capsys):
    path = _write_env(tmp_path, {"DATABASE_URL": PRODUCTION_OK["DATABASE_URL"], "SITE_URL": "https://amarise.com"})

    with pytest.raises(SystemExit) as exit_info:
        call_command("check_env", "--environment", "production", "--env-file", str(path))

    out = capsys.readouterr()
    assert exit_info.value.code == 1
    for name in ("API_URL", "STRIPE_SECRET_KEY", "EMAIL_API_KEY", "STORAGE_BUCKET", "ANALYTICS_ID"):
        assert f"missing     {name}" in out.out
    assert "ok          DATABASE_URL" in out.out
    assert "2 ok, 5 missing" in out.err
    assert "hunter2-db-secret" not in out.out + out.err


def test_check_env__complete_env_file__exits_0_and_prints_no_value(seeded, tmp_path, capsys):
    path = _write_env(tmp_path, PRODUCTION_OK)
    call_command("check_env", "--environment", "production", "--env-file", str(path))
    out = capsys.readouterr().out
    assert "Production passes: 7 ok, 0 missing" in out
    for value in PRODUCTION_OK.values():
        assert value not in out.replace("https://amarise.com", "")  # the site URL is in the header, not a value


def test_check_env__process_environment__is_read_when_no_file(seeded, monkeypatch, capsys):
    for name, value in PRODUCTION_OK.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DEBUG", raising=False)
    call_command("check_env", "--environment", "production")
    assert "the process environment" in capsys.readouterr().out


def test_check_env__unreadable_file__clear_error(seeded, tmp_path):
    with pytest.raises(CommandError, match="Cannot read env file"):
        call_command("check_env", "--environment", "production", "--env-file", str(tmp_path / "nope.env"))


def test_check_env__not_utf8_file__clear_error(seeded, tmp_path):
    path = tmp_path / "latin1.env"
    path.write_bytes("SITE_URL=https://amarisé.com\n".encode("latin-1"))
    with pytest.raises(CommandError, match="Cannot read env file"):
        call_command("check_env", "--environment", "production", "--env-file", str(path))


def test_check_env__before_seeding__says_how(db):
    with pytest.raises(CommandError, match="seed_strategy"):
        call_command("check_env", "--environment", "production")
