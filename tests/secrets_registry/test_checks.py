"""Existence and drift checks. moto's server stands in for AWS Secrets Manager (a paid cloud service)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring.models import Alert
from secrets_registry import alerting, services
from secrets_registry.choices import CheckStatus
from secrets_registry.drivers.aws import AwsSecretsManager
from secrets_registry.exceptions import SecretsError
from secrets_registry.models import AccessAudit, SecretReference
from secrets_registry.public import required_secrets_present
from tests.secrets_registry.conftest import DR_REGION, provision


def _production():
    return list(SecretReference.objects.filter(environment__key="production").select_related("environment"))


def _open(name=None):
    alerts = alerting.open_alerts()
    return alerts.filter(name=name) if name else alerts


def test_seeded_references_created_and_replicated__check_green__no_alert(secrets_seeded, manager):
    provision(manager, _production())

    report = services.check_secrets()

    assert report.passed, report.summary()
    assert len(report.ok) == 7
    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    assert (database.exists, database.has_current, database.replicated) == (True, True, True)
    assert database.check_status == CheckStatus.OK
    assert database.arn.startswith("arn:aws:secretsmanager:eu-west-1:")
    assert not _open().exists()


def test_replica_removed_or_secret_deleted__check_red__names_them__alerts_raised(secrets_seeded, manager):
    provision(manager, _production())
    services.check_secrets()
    manager.remove_replica("amarise/production/EMAIL_API_KEY", DR_REGION)
    manager.delete("amarise/production/STRIPE_SECRET_KEY")

    report = services.check_secrets()

    assert set(report.failing) == {"amarise/production/EMAIL_API_KEY", "amarise/production/STRIPE_SECRET_KEY"}
    assert "not replicated to the DR region eu-central-1" in report.failing["amarise/production/EMAIL_API_KEY"][0]
    assert "not found in the manager" in report.failing["amarise/production/STRIPE_SECRET_KEY"][0]
    assert "STRIPE_SECRET_KEY" in report.summary()
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    assert (stripe.exists, stripe.check_status) == (False, CheckStatus.FAILING)
    missing = _open(services.ALERT_MISSING).get()
    assert missing.labels["secret"] == "amarise/production/STRIPE_SECRET_KEY"
    assert (missing.environment.key, missing.severity, missing.source) == ("production", "critical", "secrets_registry")
    assert missing.incident is not None and missing.incident.opened_by == "alert"
    assert _open(services.ALERT_NOT_REPLICATED).get().labels["secret"] == "amarise/production/EMAIL_API_KEY"


def test_check_run_twice__one_open_alert__fixed_secret_resolves_it(secrets_seeded, manager):
    provision(manager, _production())
    manager.remove_replica("amarise/production/EMAIL_API_KEY", DR_REGION)
    services.check_secrets()
    services.check_secrets()
    assert _open(services.ALERT_NOT_REPLICATED).count() == 1

    manager.replicate("amarise/production/EMAIL_API_KEY", (DR_REGION,))
    assert services.check_secrets().passed
    assert not _open().exists()
    assert Alert.objects.filter(name=services.ALERT_NOT_REPLICATED, status="resolved").count() == 1


def test_manager_unreachable__check_red_with_reason__nothing_else_changed(secrets_seeded, settings, moto_url):
    settings.OPS_SECRETS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port

    report = services.check_secrets(environment=_production()[0].environment)

    assert not report.passed
    assert all("did not answer" in problems[0] for problems in report.failing.values())
    assert SecretReference.objects.filter(exists__isnull=True).count() == 7
    assert _open(services.ALERT_UNCHECKED).count() == 7


def test_manual_secret_past_due__alert__marking_rotated_clears_it(secrets_seeded, manager, make_user):
    provision(manager, _production())
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    SecretReference.objects.filter(pk=stripe.pk).update(last_rotated_at=timezone.now() - timedelta(days=91))

    report = services.check_secrets()

    assert list(report.failing) == ["amarise/production/STRIPE_SECRET_KEY"]
    assert "rotation overdue" in report.failing[stripe.name][0]
    overdue = _open(services.ALERT_OVERDUE).get()
    assert overdue.labels["secret"] == stripe.name and overdue.severity == "warning"

    person = make_user("payments", "secrets_registry.mark_rotated")
    services.mark_rotated(reference_id=stripe.pk, user=person, note="rolled in the Stripe dashboard, OPS-12")

    stripe.refresh_from_db()
    assert stripe.check_status == CheckStatus.OK
    assert not stripe.is_overdue()
    assert not _open().exists()
    assert Alert.objects.get(pk=overdue.pk).status == "resolved"
    audit = AccessAudit.objects.get(reference=stripe)
    assert (audit.action, audit.actor, audit.detail) == (
        "mark_rotated",
        "payments",
        "rolled in the Stripe dashboard, OPS-12",
    )
    assert services.check_secrets().passed


def test_mark_rotated__empty_note__refused_and_nothing_changed(secrets_seeded, make_user):
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    person = make_user("payments", "secrets_registry.mark_rotated")
    with pytest.raises(SecretsError, match="note"):
        services.mark_rotated(reference_id=stripe.pk, user=person, note="  ")
    stripe.refresh_from_db()
    assert stripe.last_rotated_at is None
    assert not AccessAudit.objects.exists()


def test_mark_rotated__automatic_kind_or_no_permission__refused(secrets_seeded, make_user):
    from django.core.exceptions import PermissionDenied

    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    with pytest.raises(SecretsError, match="not rotated by hand"):
        services.mark_rotated(reference_id=database.pk, user=make_user("a", "secrets_registry.mark_rotated"),
                              note="done")  # fmt: skip
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    with pytest.raises(PermissionDenied):
        services.mark_rotated(reference_id=stripe.pk, user=make_user("b"), note="done")
    assert not AccessAudit.objects.exists()


def test_check_env_secrets__all_exist__exit_0__reads_no_value(secrets_seeded, manager, monkeypatch):
    provision(manager, _production())

    def refuse(*args, **kwargs):
        raise AssertionError("check_env --secrets read a value")

    monkeypatch.setattr(AwsSecretsManager, "get_value", refuse)
    out = StringIO()
    call_command("check_env", "--environment", "production", "--secrets", stdout=out)

    assert "Production passes: 7 secrets present" in out.getvalue()
    assert not AccessAudit.objects.exists()


def test_check_env_secrets__one_missing__exit_1_naming_it(secrets_seeded, manager):
    provision(manager, _production())
    manager.delete("amarise/production/EMAIL_API_KEY")
    out, err = StringIO(), StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("check_env", "--environment", "production", "--secrets", stdout=out, stderr=err)

    assert exited.value.code == 1
    assert "EMAIL_API_KEY: amarise/production/EMAIL_API_KEY not found in the manager" in err.getvalue()
    assert "STRIPE_SECRET_KEY" not in err.getvalue()


def test_check_env_secrets__variable_without_reference__exit_1(secrets_seeded, manager):
    provision(manager, _production())
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_env", "--environment", "staging", "--secrets", stdout=StringIO(), stderr=err)
    assert exited.value.code == 1
    assert "DATABASE_URL: no secret reference" in err.getvalue()


def test_checklist_item__required_secrets_present(secrets_seeded, manager, env):
    provision(manager, _production())
    assert required_secrets_present(env("production")) == (
        True,
        "7 variables resolve to secrets present in the manager",
    )
    manager.delete("amarise/production/ANALYTICS_ID")
    ok, message = required_secrets_present(env("production"))
    assert not ok
    assert "ANALYTICS_ID" in message


def test_check_secrets_command__exit_codes(secrets_seeded, manager):
    provision(manager, _production())
    out = StringIO()
    call_command("check_secrets", "--environment", "production", stdout=out)
    assert "7 secrets ok" in out.getvalue()

    manager.delete("amarise/production/SITE_URL")
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_secrets", stdout=StringIO(), stderr=err)
    assert exited.value.code == 1
    assert "amarise/production/SITE_URL" in err.getvalue()


def test_beat__daily_check_rotate_and_resume__seeded(secrets_seeded):
    from django_celery_beat.models import PeriodicTask

    tasks = set(PeriodicTask.objects.filter(name__startswith="Secrets:").values_list("task", flat=True))
    assert tasks == {"secrets_registry.check_all_secrets", "secrets_registry.rotate_due_secrets",
                     "secrets_registry.resume_stalled_rotations"}  # fmt: skip
    check = PeriodicTask.objects.get(task="secrets_registry.check_all_secrets")
    assert (check.crontab.hour, check.crontab.minute) == ("5", "15")


def test_check_task__runs_the_check__short_result(secrets_seeded, manager):
    from secrets_registry.tasks import check_all_secrets

    provision(manager, _production())
    assert check_all_secrets.apply().get() == "7 secrets ok"


def test_check__results_stay_out_of_the_history__an_edit_goes_in(secrets_seeded, manager):
    provision(manager, _production())
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    before = stripe.history.count()

    services.check_secrets()
    services.check_secrets()
    assert stripe.history.count() == before

    stripe.owner = "finance team"
    stripe.save()
    assert stripe.history.first().owner == "finance team"


def test_manual_secret_due_in_five_days__reminder_alert__check_still_green__marking_rotated_clears_it(
    secrets_seeded, manager, make_user
):
    # Given Stripe's key (rotated by hand every 90 days) last rotated 85 days ago
    provision(manager, _production())
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    SecretReference.objects.filter(pk=stripe.pk).update(last_rotated_at=timezone.now() - timedelta(days=85))

    # When the daily check runs
    report = services.check_secrets()

    # Then the check is green (not overdue yet), and a reminder alert tells on-call what to do
    assert report.passed, report.summary()
    reminder = _open(services.ALERT_DUE_SOON).get()
    assert reminder.severity == "warning" and reminder.labels["secret"] == stripe.name
    assert "rotate it at the provider, then mark it rotated" in reminder.summary

    # When someone marks it rotated, the reminder resolves
    services.mark_rotated(reference_id=stripe.pk, user=make_user("payments", "secrets_registry.mark_rotated"),
                          note="rolled in the Stripe dashboard")  # fmt: skip
    assert not _open().exists()


def test_rotation_reminder__rule():
    from types import SimpleNamespace

    now = timezone.now()

    def ref(kind, days_left):
        return SimpleNamespace(
            rotation_kind=kind, next_due=None if days_left is None else now + timedelta(days=days_left)
        )

    assert services.rotation_reminder(ref("manual", 6.9), now).startswith("manual rotation due ")
    assert services.rotation_reminder(ref("manual", 7.1), now) == ""  # more than a week ahead
    assert services.rotation_reminder(ref("manual", -1), now) == ""  # overdue: the overdue alert says so
    assert services.rotation_reminder(ref("automatic", 3), now) == ""  # the console rotates it itself
    assert services.rotation_reminder(ref("manual", None), now) == ""


def test_checklist_item__production_secrets_present_then_one_deleted__ticked_only_while_all_exist(
    secrets_seeded, manager
):
    from types import SimpleNamespace

    from secrets_registry.checklist import secrets_present

    # Given every production secret in the manager
    provision(manager, _production())
    production = SimpleNamespace(environment=_production()[0].environment)
    staging = SimpleNamespace(environment=type(production.environment).objects.get(key="staging"))

    # Then the evaluated item "Required variables and secrets present" holds for production, not elsewhere
    assert secrets_present(production) is True
    assert secrets_present(staging) is False

    # And once one is deleted it no longer holds
    manager.delete("amarise/production/STRIPE_SECRET_KEY")
    assert secrets_present(production) is False


def test_start_deployment__production_with_its_secrets__item_ticked_by_the_engine(seeded, moto_url, manager):
    from deployments.models import Release, Slot
    from deployments.services import start_deployment

    # Given production's blue/green slots and every §7 secret present in the manager
    provision(manager, _production())
    production = _production()[0].environment
    live = Release.objects.create(version="v1.9", ref="v1.9", ref_kind="tag")
    Slot.objects.create(environment=production, color="blue", address="127.0.0.1:9001", server_name="blue",
                        release=live, role="live")  # fmt: skip
    Slot.objects.create(environment=production, color="green", address="127.0.0.1:9002", server_name="green")

    # When a deployment to production is created
    deployment = start_deployment(release=Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag"),
                                  environment=production)  # fmt: skip

    # Then the checklist item is evaluated and ticked by the engine, while the others wait for people
    item = deployment.checklist.get(item__key="secrets_present")
    assert item.checked and item.source == "engine" and item.item.text == "Required variables and secrets present"
    assert deployment.checklist.get(item__key="changelog_updated").checked is False


def test_alerts_migration__moved_row__same_fingerprint_as_the_live_check():
    # The data migration carries a frozen fingerprint: a moved alert must be the row the next check resolves.
    import importlib

    from monitoring.alerts import console_fingerprint

    migration = importlib.import_module("secrets_registry.migrations.0003_secret_alerts_to_monitoring")
    labels = {"secret": "amarise/production/STRIPE_SECRET_KEY", "alertname": services.ALERT_OVERDUE,
              "environment": "production", "severity": "warning"}  # fmt: skip
    assert migration.fingerprint(labels) == console_fingerprint(labels)
