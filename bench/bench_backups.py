"""The console's overhead on a full backup of a ~1 GB database against `pgbackrest backup` run by hand, and the
restore drill's measured RTO on the same database.

Both backups run in the same run, on one scratch cluster (initdb as the postgres user, WAL archiving on), to
repo1 only, alternating, best of BENCH_BACKUPS_REPEAT. Goal: the console takes at most 1.1x the bare command.
BENCH_BACKUPS_MB sets the database size. The console's rows live in a transaction that is rolled back.
"""

import os
import shutil
import tempfile
import time
from importlib import import_module
from pathlib import Path

import psycopg
from django.db import transaction

from backups import drills, services
from backups.drivers import process
from backups.drivers.cluster import Cluster, free_port, init_cluster
from backups.drivers.pgbackrest import PgBackRest, Repo, StanzaConfig, archive_command
from bench.harness import ratio_line
from core.seeding import SeedReport

BIN = "/usr/lib/postgresql/15/bin"
OS_USER = "postgres"
STANZA = "backups-bench"
SIZE_MB = int(os.environ.get("BENCH_BACKUPS_MB", "1024"))
REPEAT = int(os.environ.get("BENCH_BACKUPS_REPEAT", "2"))
ROW_BYTES = 300  # what one row of the filler table takes on disk, roughly


class _Rollback(Exception):
    pass


def _cluster(root):
    port = free_port()
    process.make_dir(root / "sock", OS_USER, mode=0o755)
    cfg = StanzaConfig(stanza=STANZA, data_directory=str(root / "data"), port=port,
                       socket_directory=str(root / "sock"), user="postgres", os_user=OS_USER,
                       work_dir=str(root / "work"), repos=[Repo(1, str(root / "repo1"), 30)])  # fmt: skip
    init_cluster(bin_dir=BIN, data_directory=root / "data", os_user=OS_USER, settings=[
        f"port = {port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{root / 'sock'}'",
        "archive_mode = on", f"archive_command = '{archive_command(cfg)}'", "archive_timeout = 60",
        "wal_level = replica", "max_wal_size = 2GB", "checkpoint_timeout = 30min"])  # fmt: skip
    engine = PgBackRest(cfg)
    engine.write_config()
    cluster = Cluster(bin_dir=BIN, data_directory=root / "data", port=port, socket_directory=root / "sock",
                      os_user=OS_USER, listen="127.0.0.1")  # fmt: skip
    cluster.start()
    engine.stanza_create()
    return cfg, engine, cluster


def _load(port, dbname):
    rows = SIZE_MB * 1024 * 1024 // ROW_BYTES
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"create database {dbname}")
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True) as conn:
        conn.execute("create table orders (id bigint primary key, total int, note text)")
        conn.execute("create table payments (id bigint)")
        conn.execute("insert into orders select g, g %% 1000, md5(g::text) || repeat('x', 200) "
                     "from generate_series(1, %s) g", [rows])  # fmt: skip
        return conn.execute("select pg_database_size(current_database())").fetchone()[0]


def _small_services(port):
    for dbname, table in [("catalog", "products"), ("journal", "entries"), ("analytics", "events")]:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", autocommit=True) as conn:
            conn.execute(f"create database {dbname}")
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True) as conn:
            conn.execute(f"create table {table} (id serial primary key, kind text)")


def _by_hand(cfg):
    started = time.perf_counter()
    process.run(["runuser", "-u", OS_USER, "--", "pgbackrest", f"--config={cfg.config_path}", f"--stanza={STANZA}",
                 "--type=full", "--repo=1", "backup"])  # fmt: skip
    return time.perf_counter() - started


def _console(database_id):
    started = time.perf_counter()
    run = services.request_backup(database_id=database_id, backup_type="full", actor="bench", enqueue=False)
    run = services.execute_backup(run_id=run.pk)
    elapsed = time.perf_counter() - started
    if run.status != "good":
        raise RuntimeError(f"console backup failed: {run.error}")
    return elapsed


def run():
    from backups.models import ProtectedDatabase

    root = Path(tempfile.mkdtemp(prefix="backups-bench-", dir="/tmp"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user works inside
    cluster = None
    lines = []
    try:
        cfg, engine, cluster = _cluster(root)
        size = _load(cfg.port, "checkout")
        _small_services(cfg.port)
        lines.append(f"database size: {size / 1024**3:.2f} GB")
        with transaction.atomic():
            report = SeedReport()
            for app in ("environments", "backups"):  # only what this bench needs
                import_module(f"{app}.seeds").seed(report)
            database = ProtectedDatabase.objects.get(environment__key="production")
            ProtectedDatabase.objects.filter(pk=database.pk).update(
                stanza=STANZA, host="127.0.0.1", port=cfg.port, data_directory=cfg.data_directory,
                socket_directory=cfg.socket_directory, pg_bin_dir=BIN, os_user=OS_USER, work_dir=cfg.work_dir,
                repo1_path=cfg.repos[0].path, repo2_path="", cipher=False,
            )  # fmt: skip
            hand, console = [], []
            for _ in range(REPEAT):
                hand.append(_by_hand(cfg))
                console.append(_console(database.pk))
            lines.append(ratio_line("full backup through the console", min(console), min(hand), goal="<= 1.1x"))

            drill = drills.request_drill(database_id=database.pk, actor="bench", enqueue=False)
            drill = drills.execute(drill_id=drill.pk)
            lines.append(f"restore drill: {drill.status}, measured RTO {drill.measured_rto.total_seconds():.1f} s "
                         f"(tier 1 Checkout target 3600 s), scratch removed: {drill.scratch_removed}")  # fmt: skip
            raise _Rollback
    except _Rollback:
        pass
    finally:
        if cluster is not None:
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
    return lines
