"""The backups page and its actions: they enqueue, never block, and refuse bad input with a clear message."""

import pytest
from django.urls import reverse

from backups.choices import RunStatus
from backups.models import BackupRun, ProtectedDatabase, RestoreDrill

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client, superuser, backups_seeded):
    client.force_login(superuser)
    return client


def _page(database):
    return reverse("admin:backups_protecteddatabase_page", args=[database.pk])


def test_page__fresh_production__renders_red_with_checks_and_generated_config(ops):
    database = ProtectedDatabase.objects.get()

    response = ops.get(_page(database))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-status="red"' in body and "Last full" in body and "worst-case loss unknown against 60 min" in body
    assert "repo1-cipher-type=aes-256-cbc" in body and "archive-push %p" in body
    # the operator is told how the server's own archive-push gets the passphrase
    assert "<code>PGBACKREST_REPO1_CIPHER_PASS</code> and <code>PGBACKREST_REPO2_CIPHER_PASS</code>" in body


def test_page__pgbackrest_elsewhere__archive_command_names_that_binary(ops, settings):
    settings.OPS_BACKUPS_PGBACKREST = "/opt/pgbackrest/bin/pgbackrest"
    database = ProtectedDatabase.objects.get()

    body = ops.get(_page(database)).content.decode()

    assert f"<code>/opt/pgbackrest/bin/pgbackrest --config={database.config_path} --stanza={database.stanza} " in body
    assert "/usr/bin/pgbackrest" not in body


def test_back_up_now__posted__run_queued_and_task_enqueued_on_commit(ops, django_capture_on_commit_callbacks):
    database = ProtectedDatabase.objects.get()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        url = reverse("admin:backups_protecteddatabase_act", args=[database.pk])
        asked = ops.post(url, {"action": "full"})  # the confirmation first: nothing queued
        assert asked.status_code == 200 and b'name="action" value="full"' in asked.content
        assert not BackupRun.objects.exists()
        response = ops.post(url, {"action": "full", "confirm_reason": "before the schema change"})

    assert response.status_code == 302 and response["Location"] == _page(database)
    run = BackupRun.objects.get()
    assert (run.type, run.status, run.requested_by) == ("full", RunStatus.QUEUED, "ops")
    assert run.events.get().reason == "requested: before the schema change"
    assert len(callbacks) == 1


def test_back_up_now_list_action__asks_a_reason_then_queues_with_it(ops, django_capture_on_commit_callbacks):
    database = ProtectedDatabase.objects.get()
    url = reverse("admin:backups_protecteddatabase_changelist")
    chosen = {"action": "back_up_full", "_selected_action": [database.pk], "index": 0}

    asked = ops.post(url, chosen)
    assert b"this is production" in asked.content and b'name="_selected_action"' in asked.content
    assert not BackupRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        ops.post(url, {**chosen, "confirm_reason": "before the migration"})

    assert BackupRun.objects.get().events.get().reason == "requested: before the migration"


def test_back_up_now__one_in_flight__refused_with_message(ops, django_capture_on_commit_callbacks):
    database = ProtectedDatabase.objects.get()
    BackupRun.objects.create(database=database, type="full")
    url = reverse("admin:backups_protecteddatabase_act", args=[database.pk])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ops.post(url, {"action": "incr", "confirm_reason": "test"}, follow=True)

    assert "already in flight" in response.content.decode()
    assert BackupRun.objects.count() == 1 and not callbacks


def test_restore__wrong_confirmation__error_shown_and_nothing_queued(ops):
    database = ProtectedDatabase.objects.get()
    url = reverse("admin:backups_protecteddatabase_restore", args=[database.pk])

    data = {"target_time": "2026-01-01T10:00:00", "reason": "oops", "confirmation": "yes", "repo": "1"}
    response = ops.post(url, data, follow=True)

    assert "Nothing restored: Type the stanza name" in response.content.decode()
    assert not RestoreDrill.objects.exists()


def test_restore__confirmed__queued_with_who_and_why(ops, django_capture_on_commit_callbacks):
    database = ProtectedDatabase.objects.get()
    url = reverse("admin:backups_protecteddatabase_restore", args=[database.pk])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ops.post(url, {"target_time": "2026-01-01T10:00:00Z", "reason": "bad deploy dropped a table",
                       "confirmation": database.stanza, "repo": "2"})  # fmt: skip

    restore = RestoreDrill.objects.get()
    assert (restore.kind, restore.requested_by, restore.reason, restore.repo) == (
        "restore", "ops", "bad deploy dropped a table", 2)  # fmt: skip
    assert restore.target_time.isoformat() == "2026-01-01T10:00:00+00:00"
    assert len(callbacks) == 1


def test_policy_admin__saved__beat_schedule_follows(ops):
    from django_celery_beat.models import PeriodicTask

    from backups.models import BackupPolicy

    policy = BackupPolicy.objects.get()
    url = reverse("admin:backups_backuppolicy_change", args=[policy.pk])
    form = ops.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(full_hour_utc=2, full_minute=30, cross_region_copy="on")

    response = ops.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    full = PeriodicTask.objects.get(name="Backups (Strategy §9): full")
    assert (full.crontab.minute, full.crontab.hour) == ("30", "2")


def test_check_rpo_now__changelist_action__check_queued_for_a_worker_not_run_here(
    ops, django_capture_on_commit_callbacks
):
    from backups.models import RpoCheck

    database = ProtectedDatabase.objects.get()
    changelist = reverse("admin:backups_protecteddatabase_changelist")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ops.post(changelist, {"action": "check_rpo_now", "_selected_action": [database.pk]}, follow=True)

    assert f"RPO and backup-age check queued for {database.stanza}." in response.content.decode()
    assert len(callbacks) == 1 and not RpoCheck.objects.exists()
