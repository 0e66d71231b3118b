"""The pgBackRest driver: generated configuration, the passphrase, and errors made clear."""

import pytest

from backups.drivers.pgbackrest import (
    DriverError,
    PgBackRest,
    Repo,
    StanzaConfig,
    diagnose_write_failure,
    explain,
    render_config,
)

CFG = StanzaConfig(stanza="amarise-production", data_directory="/pg/data", port=5432, socket_directory="/run/pg",
                   user="postgres", os_user="postgres", work_dir="/srv/backups",
                   repos=[Repo(1, "/repo1", 30), Repo(2, "/repo2", 30)], cipher=True,
                   cipher_pass_env="OPS_TEST_CIPHER_PASS")  # fmt: skip


def test_render_config__production__both_repos_time_retention_cipher_and_own_paths():
    text = render_config(CFG)

    for line in ["repo1-path=/repo1", "repo2-path=/repo2", "repo1-retention-full-type=time", "repo1-retention-full=30",
                 "repo2-retention-full=30", "repo1-cipher-type=aes-256-cbc", "repo2-cipher-type=aes-256-cbc",
                 "lock-path=/srv/backups/lock", "log-path=/srv/backups/log", "spool-path=/srv/backups/spool",
                 "[amarise-production]", "pg1-path=/pg/data", "pg1-port=5432"]:  # fmt: skip
        assert line in text.splitlines()
    assert "cipher-pass" not in text


def test_secret_env__passphrase_set__given_to_pgbackrest_through_the_environment_only(monkeypatch):
    monkeypatch.setenv("OPS_TEST_CIPHER_PASS", "s3cret-passphrase")

    env = PgBackRest(CFG)._secret_env()

    assert env == {
        "PGBACKREST_REPO1_CIPHER_PASS": "s3cret-passphrase",
        "PGBACKREST_REPO2_CIPHER_PASS": "s3cret-passphrase",
    }
    assert "s3cret-passphrase" not in render_config(CFG)


def test_secret_env__passphrase_missing__clear_permanent_error(monkeypatch):
    monkeypatch.delenv("OPS_TEST_CIPHER_PASS", raising=False)

    with pytest.raises(DriverError, match="OPS_TEST_CIPHER_PASS is not set in the worker's environment") as caught:
        PgBackRest(CFG)._secret_env()
    assert caught.value.permanent


def test_explain__disk_full__permanent_disk_full_message():
    err = explain("ERROR: [039]: unable to write '/repo1/backup/x': [28] No space left on device\n", 39)

    assert str(err).startswith("disk full:") and err.permanent and err.code == 39


def test_explain__lock_held__transient():
    err = explain("ERROR: [050]: unable to acquire lock on file '/srv/backups/lock/x-backup.lock'\n", 50)

    assert not err.permanent and "holds the stanza's lock" in str(err)


def test_explain__no_error_line__last_line_of_output():
    assert str(explain("something odd\nthen this", 1)) == "pgBackRest error 1: then this"


def test_restore__over_the_live_data_directory__refused():
    with pytest.raises(DriverError, match="refusing to restore over the live data directory"):
        PgBackRest(CFG).restore(1, "/pg/data/")


def test_run__binary_missing__clear_error(tmp_path):
    cfg = StanzaConfig(**{**CFG.__dict__, "cipher": False, "work_dir": str(tmp_path), "os_user": ""})

    with pytest.raises(DriverError, match="pgBackRest is not installed: /nonexistent/pgbackrest not found"):
        PgBackRest(cfg, binary="/nonexistent/pgbackrest").check()


def test_explain__cause_on_indented_lines__joined_and_made_printable():
    stderr = ("ERROR: [029]: unable to load info file '/r/archive.info':\n"
              "       FormatError: key/value found outside of section at line 1: \x8f\x01x\n"
              "INFO: backup command end: aborted with exception [029]\n")  # fmt: skip

    err = explain(stderr, 29)

    assert str(err) == (
        "pgBackRest error 29: unable to load info file '/r/archive.info': "
        "FormatError: key/value found outside of section at line 1: ??x"
    )


def test_diagnose_write_failure__disk_with_room__left_as_the_engine_said(tmp_path):
    err = explain(f"ERROR: [064]: raised from local-1 protocol: unable to write '{tmp_path}/x/1255.lz4'\n", 64)

    assert diagnose_write_failure(err) is err
