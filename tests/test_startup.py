"""Start-up stays light: every operator command and worker pays for what Django's setup imports."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ["faker", "pglast", "requests", "boto3", "botocore", "hypothesis", "playwright", "redis"]
# Beat's CrontabSchedule.timezone lists and opens ~600 time zones only when its choices are first read
# (core/lazy_timezones.py); import-export comes with the admin's modules, when the URLconf loads.
THIRD_PARTY_ON_USE = ["timezone_field.backends.zoneinfo", "import_export.admin", "tablib"]

# The console's own modules that only an action, a page, a task or a signal needs: the admin, the dashboards,
# the apps' ready() and the front doors (<app>.public) import them where they are used (issue 19).
ON_USE = [
    "backups.drills",
    "backups.monitor",
    "backups.overview",
    "backups.services",
    "deployments.engine",
    "deployments.postdeploy.notify",
    "deployments.postdeploy.services",
    "deployments.progress",
    "deployments.services",
    "environments.services",
    "flags.documents",
    "flags.services",
    "incidents.notify",
    "incidents.services",
    "migrations_log.services",
    "monitoring.alerts",
    "monitoring.services",
    "monitoring.tasks",
    "refreshes.services",
    "secrets_registry.services",
    "secrets_registry.tasks",
]


def _fresh(script):
    """What `script` prints last, as JSON, run in a fresh interpreter with the console's settings."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _imported_by_setup(modules):
    return _fresh(
        f"import django, json, sys; django.setup(); print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )


def test_django_setup__imports_none_of_the_heavy_libraries():
    # Given a fresh interpreter, as `manage.py help`, a cron'd `backup_status` or a Celery worker starts
    # When Django sets up, Then no library that only one function needs was imported (redis: the cache's pool
    # is named by path in settings, amarise_ops/redis_pool.py)
    assert _imported_by_setup(HEAVY) == []


def test_django_setup__defers_what_only_a_page_or_a_field_s_choices_need():
    # Given a fresh interpreter, When Django sets up, Then the time zone list and import-export are not loaded yet
    assert _imported_by_setup(THIRD_PARTY_ON_USE) == []


def test_django_setup__imports_no_service_only_an_action_needs():
    # Given a fresh interpreter, When Django sets up (admin autodiscovery and every app's ready() included)
    # Then none of the services, engines and tasks modules was imported: they load on first use
    assert _imported_by_setup(ON_USE) == []


def test_front_doors__lazy_names_resolve_to_the_services():
    # Given the names the front doors load on first use, When another app reads them, Then they are the services'
    script = (
        "import django, json; django.setup()\n"
        "from deployments import public as d, services as ds\n"
        "from incidents import public as i, services as s, notify as n\n"
        "from monitoring import public as m, alerts as a\n"
        "from secrets_registry import public as r, services as rs\n"
        "print(json.dumps([d.create_release is ds.create_release, i.open_incident is s.open_incident,\n"
        "    i.sign is n.sign, m.raise_alert is a.raise_alert,\n"
        "    r.check_environment_secrets is rs.check_environment_secrets, hasattr(i, 'no_such_name')]))"
    )  # fmt: skip
    assert _fresh(script) == [True, True, True, True, True, False]


def test_celery_app__registers_every_apps_tasks_without_start_up_importing_them():
    # Given a worker's start (the loader imports every installed app's tasks module, as `celery worker` does)
    script = (
        "import json; from amarise_ops.celery import app; app.loader.import_default_modules();"
        "print(json.dumps(sorted({n.split('.')[0] for n in app.tasks if not n.startswith('celery.')})))"
    )
    # Then every app with periodic or queued work has its tasks registered
    assert _fresh(script) == [
        "backups", "core", "deployments", "environments", "flags", "incidents", "monitoring", "postdeploy",
        "refreshes", "retention", "secrets_registry",
    ]  # fmt: skip


def test_django_setup__leaves_the_admin_modules_to_the_urlconf():
    # Given a fresh interpreter, as a command or a Celery worker starts
    # When Django sets up, Then no app's admin module was imported and the admin site has nothing registered yet
    script = (
        "import django, json, sys; django.setup()\n"
        "from django.contrib import admin\n"
        "before = [sorted(m for m in sys.modules if m.endswith('.admin') and not m.startswith('django')),\n"
        "          len(admin.site._registry)]\n"
        "import amarise_ops.urls\n"
        "from deployments.models import Deployment\n"
        "print(json.dumps([before, admin.site.is_registered(Deployment), len(admin.site._registry)]))"
    )  # fmt: skip
    (admin_modules, registered_before), deployment_registered, registered_after = _fresh(script)
    assert admin_modules == []
    assert registered_before == 0
    # When the URLconf loads (a web process at start, or the first reverse()), Then every ModelAdmin is there
    assert deployment_registered is True
    assert registered_after > 60


def test_system_checks__check_every_model_admin_before_any_page_loaded():
    # Given a fresh interpreter where no URLconf has loaded, When `manage.py check` runs the admin's checks
    script = (
        "import django, json; django.setup()\n"
        "from django.contrib import admin; from django.core import checks\n"
        "errors = checks.run_checks(tags=[checks.Tags.admin])\n"
        "print(json.dumps([len(admin.site._registry), [str(e) for e in errors]]))"
    )  # fmt: skip
    registered, errors = _fresh(script)
    # Then the site discovered the apps' admin modules first, so every ModelAdmin was checked, and all pass
    assert registered > 60
    assert errors == []


def test_manage_py__runs_the_command_with_the_garbage_collector_back_on():
    # Given manage.py, which sets Django up with the cyclic collector off (amarise_ops/startup.py)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
    code = "import gc, json; print(json.dumps([gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count()]))"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    enabled, threshold, frozen = json.loads(done.stdout.strip().splitlines()[-1])
    # When a command runs, Then the collector is on again, with Python's default threshold, for what the command
    # makes; what start-up made is frozen out of its passes
    assert (enabled, threshold) == (True, 700)
    assert frozen > 100_000
