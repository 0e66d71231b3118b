"""A real PostgreSQL 15 cluster with WAL archiving into two pgBackRest repositories, run as the postgres user.

A pytest plugin (tests/conftest.py loads it): the backups tests, the staging refresh from a backup and the
browser journeys share one cluster per session. Tests that break it (archiving, a corrupt file) put it back.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import psycopg
import pytest
from django.db import transaction

from backups.drivers import process
from backups.drivers.cluster import Cluster, free_port, init_cluster
from backups.drivers.pgbackrest import PgBackRest, Repo, StanzaConfig, archive_command, server_environment
from core.seeding import SeedReport
from tests.conftest import wait_until

BIN = "/usr/lib/postgresql/15/bin"
OS_USER = "postgres"
STANZA = "backups-test"
SERVICE_TABLES = {
    "checkout": ["create table orders (id serial primary key, total int)", "create table payments (id int)",
                 "insert into orders (total) select g from generate_series(1, 50) g"],
    "catalog": ["create table products (id serial primary key, name text)",
                "insert into products (name) select 'p' || g from generate_series(1, 20) g"],
    "journal": ["create table entries (id serial primary key, body text)"],
    "analytics": ["create table events (id serial primary key, kind text)",
                  "insert into events (kind) values ('view'), ('buy')"],
}  # fmt: skip


@dataclass
class TestCluster:
    root: Path
    port: int
    cluster: Cluster
    engine: PgBackRest | None = None

    @property
    def data(self):
        return self.root / "data"

    @property
    def work(self):
        return self.root / "work"

    @property
    def socket_directory(self):
        return self.root / "sock"

    def repo(self, n):
        return self.root / f"repo{n}"

    def connect(self, dbname="postgres"):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def sql(self, query, dbname="postgres", params=None):
        with self.connect(dbname) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    def switch_and_wait_archived(self):
        """Close the current WAL segment and wait until the archiver has pushed it."""
        # A write first: switching a segment with nothing in it is a no-op that names a segment never archived.
        self.sql("create table if not exists wal_tick (at timestamptz); insert into wal_tick values (now())")
        segment = self.sql("select pg_walfile_name(pg_switch_wal())")[0][0]
        try:
            wait_until(
                lambda: (self.sql("select last_archived_wal from pg_stat_archiver")[0][0] or "") >= segment,
                timeout=60,
                what=f"WAL {segment} archived",
            )
        except AssertionError as exc:
            state = self.sql("select * from pg_stat_archiver")
            log = (self.root / "sock" / f"postgres-{self.port}.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}; archiver: {state}; server log tail: {log}") from None
        return segment


def stanza_config(root, *, stanza=STANZA, port=0, cipher_pass_env="", repo2=None):
    return StanzaConfig(
        stanza=stanza, data_directory=str(root / "data"), port=port, socket_directory=str(root / "sock"),
        user="postgres", os_user=OS_USER, work_dir=str(root / "work"),
        repos=[Repo(1, str(root / "repo1"), 30), repo2 or Repo(2, str(root / "repo2"), 30)],
        cipher=bool(cipher_pass_env), cipher_pass_env=cipher_pass_env,
    )  # fmt: skip


def start_test_cluster(*, stanza=STANZA, cipher_pass_env="", databases=SERVICE_TABLES, repo2=None) -> TestCluster:
    """initdb, archive into a new stanza on two repositories, start; with a passphrase, encrypted repositories.

    `repo2`: another repository 2 than a directory beside repo1 (an S3 bucket: tests/backups/test_cross_region.py).

    The server runs archive-push itself, so it gets the passphrase the way production's must: in its environment.
    """
    root = Path(tempfile.mkdtemp(prefix=f"{stanza}-", dir="/tmp"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user must reach its directories inside
    port = free_port()
    process.make_dir(root / "sock", OS_USER, mode=0o755)
    cfg = stanza_config(root, stanza=stanza, port=port, cipher_pass_env=cipher_pass_env, repo2=repo2)
    init_cluster(
        bin_dir=BIN, data_directory=root / "data", os_user=OS_USER,
        settings=[f"port = {port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{root / 'sock'}'",
                  "archive_mode = on", f"archive_command = '{archive_command(cfg)}'", "archive_timeout = 60",
                  "wal_level = replica", "fsync = off", "checkpoint_timeout = 30min", "max_wal_size = 256MB"],
    )  # fmt: skip
    engine = PgBackRest(cfg)
    engine.write_config()
    cluster = Cluster(bin_dir=BIN, data_directory=root / "data", port=port, socket_directory=root / "sock",
                      os_user=OS_USER, listen="127.0.0.1")  # fmt: skip
    cluster.start(env=server_environment(cfg))
    test_cluster = TestCluster(root=root, port=port, cluster=cluster)
    for dbname, statements in databases.items():
        test_cluster.sql(f"create database {dbname}")
        for statement in statements:
            test_cluster.sql(statement, dbname=dbname)
    engine.stanza_create()
    # WAL written before the stanza existed failed to archive, and the archiver backs off for a minute after
    # three failures: a reload wakes it now.
    test_cluster.sql("select pg_reload_conf()")
    test_cluster.switch_and_wait_archived()
    test_cluster.engine = engine
    return test_cluster


def remove_test_cluster(test_cluster):
    test_cluster.cluster.stop("immediate")
    shutil.rmtree(test_cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    test_cluster = start_test_cluster()
    yield test_cluster
    remove_test_cluster(test_cluster)


def _seed_backups():
    """Only what this app needs (the environments and §9): seed_all of every app takes seconds per test."""
    report = SeedReport()
    with transaction.atomic():
        for app in ("environments", "incidents", "backups"):
            import_module(f"{app}.seeds").seed(report)
    return report


@pytest.fixture
def backups_seeded(db):
    return _seed_backups()


@pytest.fixture
def backups_seeded_tx(transactional_db):
    return _seed_backups()


@pytest.fixture(scope="session")
def base_backup(pg_cluster):
    """One full backup on both repositories, taken once: the restores and drills start from it."""
    labels = {}
    for repo in (1, 2):
        pg_cluster.engine.backup("full", repo)
        labels[str(repo)] = pg_cluster.engine.backups(repo)[-1]["label"]
    return labels


def point_production_at(test_cluster):
    """The seeded production database, pointed at `test_cluster`: its stanza, paths and encryption."""
    from backups.models import ProtectedDatabase

    cfg = test_cluster.engine.cfg
    database = ProtectedDatabase.objects.get(environment__key="production")
    ProtectedDatabase.objects.filter(pk=database.pk).update(
        stanza=cfg.stanza, host="127.0.0.1", port=test_cluster.port, data_directory=str(test_cluster.data),
        socket_directory=str(test_cluster.socket_directory), pg_bin_dir=BIN, os_user=OS_USER,
        work_dir=str(test_cluster.work), repo1_path=str(test_cluster.repo(1)), repo2_path=str(test_cluster.repo(2)),
        cipher=cfg.cipher, cipher_pass_env=cfg.cipher_pass_env or database.cipher_pass_env,
    )  # fmt: skip
    database.refresh_from_db()
    return database


@pytest.fixture
def protected(backups_seeded_tx, pg_cluster):
    """Production pointed at the shared cluster (unencrypted: test_encryption_and_expiry has its own)."""
    return point_production_at(pg_cluster)
