"""manage.py backup_now / restore_drill / backup_status, on the real cluster."""

import os
import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from backups.choices import RunStatus
from backups.dashboard import backup_lines
from backups.models import BackupRun, RestoreDrill
from environments.models import Environment
from tests.conftest import ROOT, database_url_for, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _status_exit(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("backup_status", "production")
        raise SystemExit(0)
    return exited.value.code, capsys.readouterr().out


def test_backup_status__nothing_backed_up_yet__red_exit_1_and_red_card(protected, capsys):
    code, out = _status_exit(capsys)

    assert code == 1
    assert "RED  Last full    none" in out
    lines = backup_lines(Environment.objects.filter(key="production"))[protected.environment_id]
    assert [(line.label, line.tone) for line in lines] == [("Last good backup", "bad"), ("RPO", "bad")]


def test_commands__backup_rpo_check_and_drill__status_green_exit_0(protected, pg_cluster, capsys):
    call_command("backup_now", "production", "--type", "full")
    assert "good:" in capsys.readouterr().out
    pg_cluster.switch_and_wait_archived()
    from backups import monitor

    assert monitor.check_rpo(database_id=protected.pk).ok
    call_command("restore_drill", "production")
    out = capsys.readouterr().out
    assert "Checkout         tier 1" in out and "passed: measured RTO" in out
    # a backup nobody has verified yet is not reported good
    code, out = _status_exit(capsys)
    assert code == 1 and re.search(r"RED\s+Verify\s+never verified", out), out
    from backups import services

    services.verify_database(database_id=protected.pk)

    code, out = _status_exit(capsys)

    assert code == 0, out
    assert BackupRun.objects.get().status == RunStatus.GOOD
    assert RestoreDrill.objects.get().status == "passed"
    lines = backup_lines(Environment.objects.filter(key="production"))[protected.environment_id]
    assert [line.tone for line in lines] == ["ok", "ok"]


def test_backup_now__unknown_environment__clear_error(backups_seeded_tx):
    with pytest.raises(CommandError, match="No protected database for environment 'prod' \\(protected: production\\)"):
        call_command("backup_now", "prod", "--type", "full")
    assert not BackupRun.objects.exists()


def test_restore_drill__bad_target_time__clear_error_and_nothing_created(protected):
    with pytest.raises(CommandError, match="is not ISO 8601"):
        call_command("restore_drill", "production", "--target-time", "yesterday")
    assert not RestoreDrill.objects.exists()


def test_celery_call__check_rpo_all__sent_from_the_command_line_and_run_by_the_worker(worker, backups_seeded_tx):
    from django.conf import settings
    from django.db import connection
    from django_celery_results.models import TaskResult

    env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict), "REDIS_URL": settings.REDIS_URL}

    # When an operator sends beat's RPO job by hand with Celery's own command
    done = subprocess.run([sys.executable, "-m", "celery", "-A", "amarise_ops", "call", "backups.check_rpo_all"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip

    # Then the command printed the task's id (no AppRegistryNotReady), and the worker ran it
    assert done.returncode == 0, done.stderr[-2000:]
    task_id = done.stdout.strip().splitlines()[-1]
    result = wait_until(lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first(),
                        timeout=60, what="the worker to run backups.check_rpo_all")  # fmt: skip
    assert result.task_name == "backups.check_rpo_all" and "enqueued 1 RPO checks" in result.result
