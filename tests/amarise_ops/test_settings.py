"""Bad configuration stops every entry point with one line naming the variable; production is strict."""

import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from environ import Env

from amarise_ops import config
from tests.conftest import ROOT

GOOD_PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "ops.amarise.com",
    "SITE_URL": "https://ops.amarise.com",
}


def run(args, **env):
    drop = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "not-a-url"}, "DATABASE_URL must start with postgres:// or sqlite:///"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL must start with postgres:// or sqlite:///, not mysql://"),
        ({"DATABASE_URL": "postgres://127.0.0.1:port/x"}, "DATABASE_URL has a malformed port"),
        ({"DATABASE_URL": "postgres://127.0.0.1:5432"}, "DATABASE_URL names no database"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must start with redis://"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/cache"}, "REDIS_URL database must be a number"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE is not a known time zone"),
        ({"SITE_URL": "ops.amarise.com"}, "SITE_URL must be an http(s) URL"),
        ({**GOOD_PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({**GOOD_PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY is too short for production"),
        ({**GOOD_PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
    ],
)
def test_manage_py__bad_configuration__one_line_and_exit_2(tmp_path, env, message):
    result = run(["manage.py", "check"], VAR_DIR=str(tmp_path), **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("amarise-ops: configuration error: ")
    assert message in lines[0]


def test_celery_worker__bad_configuration__one_line_and_exit_2(tmp_path):
    result = run(["-m", "celery", "-A", "amarise_ops", "worker"], VAR_DIR=str(tmp_path), DATABASE_URL="nope")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("amarise-ops: configuration error: DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_production_settings__check_deploy__no_warnings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/amarise_ops",
        REDIS_URL="redis://127.0.0.1:6379/1",
        **GOOD_PRODUCTION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_models_and_migrations__agree(tmp_path):
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_database__postgres_url__parsed_with_health_checks(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://ops:pw@db.internal:6543/amarise")
    parsed = config.database(Env(), tmp_path)
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"], parsed["USER"]) == ("db.internal", 6543, "amarise", "ops")
    assert parsed["CONN_HEALTH_CHECKS"] is True


def test_config_database__unset__sqlite_in_wal_mode_under_var(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    parsed = config.database(Env(), tmp_path)
    assert parsed["NAME"] == str(tmp_path / "ops.sqlite3")
    assert "journal_mode=WAL" in parsed["OPTIONS"]["init_command"]


def test_config_env_bool__strict(monkeypatch):
    monkeypatch.setenv("X_FLAG", "Yes")
    assert config.env_bool(Env(), "X_FLAG", default=False) is True
    monkeypatch.setenv("X_FLAG", "sure")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be true or false"):
        config.env_bool(Env(), "X_FLAG", default=False)
