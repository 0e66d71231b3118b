"""Encrypted repositories end to end, the engine's own time-based expiry, and a full repository disk.

On a cluster of their own: these tests move the clock the engine sees 40 days on and fill a repository's disk,
which the shared cluster's backups must never see.
"""

import glob
import secrets
import subprocess
from pathlib import Path

import pytest
from django.forms.models import model_to_dict

from backups import drills, services
from backups.choices import AlertKind, DrillStatus, RunStatus
from backups.drivers import process
from backups.models import BackupRun
from tests.backups.cluster import OS_USER, point_production_at, remove_test_cluster, start_test_cluster
from tests.backups.conftest import backup_alert

pytestmark = pytest.mark.django_db(transaction=True)

PASS_VAR = "OPS_TEST_BACKUPS_CIPHER_PASS"
PASSPHRASE = f"test-passphrase-{secrets.token_hex(12)}"
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.fixture(scope="module")
def encrypted_cluster():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASS_VAR, PASSPHRASE)  # the server (archive-push) and the workers read it from the environment
        cluster = start_test_cluster(stanza="backups-cipher-test", cipher_pass_env=PASS_VAR)
        yield cluster
        remove_test_cluster(cluster)


@pytest.fixture
def encrypted(backups_seeded_tx, encrypted_cluster, monkeypatch):
    monkeypatch.setenv(PASS_VAR, PASSPHRASE)
    return point_production_at(encrypted_cluster)


def _backup(database, backup_type="full"):
    run = services.request_backup(database_id=database.pk, backup_type=backup_type, actor="test", enqueue=False)
    return services.execute_backup(run_id=run.pk)


def _repo_files(cluster, repo, pattern):
    return [Path(p) for p in glob.glob(str(cluster.repo(repo) / pattern), recursive=True) if Path(p).is_file()]


def test_encrypted__backup_wal_and_info__ciphertext_in_both_repos_and_a_drill_restores(encrypted, encrypted_cluster):
    run = _backup(encrypted)

    assert run.status == RunStatus.GOOD, run.error
    assert run.repos_reached == [1, 2]
    for repo in (1, 2):
        # OpenSSL's salted format: pgBackRest encrypted the info files, the backup's files and the archived WAL.
        for pattern in ("backup/*/backup.info", f"backup/*/{run.labels[str(repo)]}/pg_data/PG_VERSION*",
                        "archive/*/*/*/0000*"):  # fmt: skip
            files = _repo_files(encrypted_cluster, repo, pattern)
            assert files, f"repo{repo} has no {pattern}"
            assert all(f.read_bytes()[:8] == b"Salted__" for f in files), pattern
    # The passphrase is in no file the console writes and no row it stores.
    assert PASSPHRASE not in Path(encrypted.config_path).read_text()
    assert PASSPHRASE not in str(model_to_dict(encrypted)) + str(list(BackupRun.objects.values()))

    drill = drills.request_drill(database_id=encrypted.pk, actor="test", enqueue=False)
    drill = drills.execute(drill_id=drill.pk)
    assert drill.status == DrillStatus.PASSED, drill.error
    assert drill.backup_label == run.labels["1"] and drill.scratch_removed


def test_encrypted__passphrase_missing__run_failed_saying_which_variable(encrypted, monkeypatch):
    monkeypatch.delenv(PASS_VAR)

    run = _backup(encrypted)

    assert run.status == RunStatus.FAILED
    assert f"repository encryption is on but {PASS_VAR} is not set in the worker's environment" in run.error
    assert backup_alert(AlertKind.BACKUP_FAILED)


def test_encrypted__wrong_passphrase__run_failed_and_never_good(encrypted, monkeypatch):
    monkeypatch.setenv(PASS_VAR, "not-the-passphrase")

    run = _backup(encrypted)

    assert run.status == RunStatus.FAILED and not run.label, run.error
    assert run.error.startswith(f"the repository did not decrypt: is {PASS_VAR} the passphrase it was encrypted with?")
    assert "not-the-passphrase" not in run.error and run.error.isprintable()


def _backup_days_on(database, monkeypatch, days):
    """A backup whose pgBackRest sees a clock `days` on; its automatic expiry runs against that clock."""
    monkeypatch.setenv("LD_PRELOAD", LIBFAKETIME)
    monkeypatch.setenv("FAKETIME", f"+{days}d")
    try:
        return _backup(database)
    finally:
        monkeypatch.delenv("LD_PRELOAD")
        monkeypatch.delenv("FAKETIME")


def test_expiry__fulls_older_than_30_days__removed_by_the_engine_and_recorded_on_the_run(
    encrypted, encrypted_cluster, monkeypatch
):
    first, second = _backup(encrypted), _backup(encrypted)
    assert first.status == second.status == RunStatus.GOOD
    labels = {f"repo{repo}:{run.labels[str(repo)]}" for run in (first, second) for repo in (1, 2)}

    # 20 days on, nothing is past the 30-day retention.
    within = _backup_days_on(encrypted, monkeypatch, 20)
    assert within.status == RunStatus.GOOD, within.error
    assert within.expired == []

    # 40 days on, every full is past it: pgBackRest dates a backup by the database server's clock, which did not
    # move. It keeps the newest full older than the retention (the one an older point in time needs) and removes
    # the others, this module's earlier tests' too; the run records which.
    later = _backup_days_on(encrypted, monkeypatch, 40)
    assert later.status == RunStatus.GOOD, later.error
    assert labels | {f"repo{repo}:{within.labels[str(repo)]}" for repo in (1, 2)} <= set(later.expired)
    left = {f"repo{b['database']['repo-key']}:{b['label']}" for b in encrypted_cluster.engine.backups()}
    assert left == {f"repo{repo}:{later.labels[str(repo)]}" for repo in (1, 2)}
    assert not left & set(later.expired)


@pytest.fixture
def tiny_repo2(encrypted, encrypted_cluster):
    """A 1 MB filesystem for repo2: the engine runs out of space there."""
    mount = encrypted_cluster.root / "tiny-repo2"
    process.make_dir(mount, OS_USER, mode=0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=1m,uid={OS_USER},mode=0750", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_backup__repo2_disk_full__run_failed_with_disk_full_and_repo1_reached(encrypted, tiny_repo2):
    type(encrypted).objects.filter(pk=encrypted.pk).update(repo2_path=str(tiny_repo2))

    run = _backup(encrypted)

    assert run.status == RunStatus.FAILED and not run.label
    assert run.error.startswith("repo2: disk full: "), run.error
    assert run.repos_reached == [1]
    alert = backup_alert(AlertKind.BACKUP_FAILED)
    assert "disk full" in alert.summary
