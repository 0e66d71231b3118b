"""The staging refresh copies production's latest backup, restored on real pgBackRest, not production itself."""

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from backups import services as backups
from backups.choices import RunStatus as BackupStatus
from backups.models import ProtectedDatabase
from refreshes.admin import describe_source
from refreshes.choices import RunKind, RunStatus, SourceKind
from refreshes.models import DataTarget
from refreshes.sample import generate
from tests.refreshes.conftest import CUSTOMERS, count, databases_like, db_url, run_directly
from tests.refreshes.test_refresh import _refresh_through_worker

pytestmark = pytest.mark.django_db(transaction=True)

# Live production holds CUSTOMERS (120); its backup holds fewer, so the counts tell the two sources apart.
BACKED_UP_CUSTOMERS = 40
# What §2 says staging never holds, whatever the console's rules say: emptied tables.
EMPTIED = {"public.payment_methods", "public.sessions", "public.auth_tokens"}

# The checks below are the test's own plain SQL, not the console's scanner: an independent second opinion.
_TABLES = """
select format('%I.%I', schemaname, tablename) from pg_tables
where schemaname not in ('pg_catalog', 'information_schema') and schemaname not like 'pg\\_%' order by 1
"""
_FOREIGN_KEYS = """
select c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       array(select quote_ident(a.attname) from unnest(c.conkey) with ordinality k(n, i)
             join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),
       array(select quote_ident(a.attname) from unnest(c.confkey) with ordinality k(n, i)
             join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)
from pg_constraint c where c.contype = 'f'
"""


def _row_counts(conn):
    tables = [r[0] for r in conn.execute(_TABLES)]
    return {t: conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(t))).fetchone()[0] for t in tables}


def _personal_values(conn):
    rows = conn.execute("select email, first_name, last_name, phone from customers").fetchall()
    rows += conn.execute("select line1, phone from addresses").fetchall()
    rows += conn.execute("select contact_email from orders").fetchall()
    rows += conn.execute("select email from newsletter_subscriptions").fetchall()
    return {v for row in rows for v in row if v and len(v) > 5}


def _leaks(conn, values):
    """Personal production values found anywhere in any table of any schema, by reading every row as text."""
    found = set()
    for table in [r[0] for r in conn.execute(_TABLES)]:
        text = "\n".join(r[0] for r in conn.execute(sql.SQL("select t::text from {} t").format(sql.SQL(table))))
        found |= {f"{table}: {v}" for v in values if v in text}
    return sorted(found)


def _orphans(conn):
    """Every foreign key whose child rows point at no parent, with how many."""
    broken = {}
    for name, child, parent, columns, references in conn.execute(_FOREIGN_KEYS).fetchall():
        present = " and ".join(f"c.{col} is not null" for col in columns)
        match = " and ".join(f"p.{ref} = c.{col}" for col, ref in zip(columns, references, strict=True))
        query = (
            f"select count(*) from {child} c where {present} and not exists (select 1 from {parent} p where {match})"  # noqa: S608
        )
        orphans = conn.execute(query).fetchone()[0]
        if orphans:
            broken[name] = orphans
    return broken, len(conn.execute(_FOREIGN_KEYS).fetchall())


@pytest.fixture
def backed_up_production(targets_tx, protected, pg_cluster, production):
    """Production's database, under its own name, inside the protected cluster, with a good backup of it."""
    pg_cluster.sql(f'drop database if exists "{production}"')
    pg_cluster.sql(f'create database "{production}"')
    with pg_cluster.connect(production) as conn:
        generate.build(conn, customers=BACKED_UP_CUSTOMERS)
    run = backups.request_backup(database_id=protected.pk, backup_type="incr", actor="test", enqueue=False)
    run = backups.execute_backup(run_id=run.pk)
    assert run.status == BackupStatus.GOOD, run.error
    # What the backup holds, read now (nothing writes to it until the test's refresh): its point in time.
    with pg_cluster.connect(production) as conn:
        run.counts_at_backup, run.personal_values = _row_counts(conn), _personal_values(conn)
    yield run
    pg_cluster.sql(f'drop database if exists "{production}"')


def _scratch_left(database):
    return sorted(p.name for p in (Path(database.work_dir) / "scratch").glob("refresh-*"))


def test_staging_refresh__from_backup__staging_is_the_backup_masked_and_the_scratch_cluster_gone(
    worker, backed_up_production, staging_name
):
    assert DataTarget.objects.get(environment__key="staging").source_kind == SourceKind.BACKUP_RESTORE

    run = _refresh_through_worker()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert count(staging_name, "customers") == BACKED_UP_CUSTOMERS != CUSTOMERS
    assert run.leak_scan_passed is True
    source = run.checks["source"]
    assert source["kind"] == "backup_restore" and "fallback" not in source
    assert source["repo"] == 1 and source["backup_label"] == backed_up_production.labels["1"]
    assert source["repo_failures"] == []
    assert source["recovery_point"]  # the last transaction replayed, or the end of the backup
    assert "restored backup " + backed_up_production.labels["1"] in run.steps.get(name="copy").detail
    assert _scratch_left(backed_up_production.database) == []
    # and the run says so in the admin
    assert describe_source(source).startswith(
        f"backup {source['backup_label']} of {source['stanza']}, restored from repo1"
    )
    # Checked apart from the console, with the test's own SQL: no personal value of the backup anywhere in
    # staging, every foreign key holds, and every table has the rows it had at the backup's point in time.
    with psycopg.connect(db_url(staging_name), autocommit=True) as conn:
        assert len(backed_up_production.personal_values) > 3 * BACKED_UP_CUSTOMERS
        assert _leaks(conn, backed_up_production.personal_values) == []
        broken, checked = _orphans(conn)
        assert broken == {} and checked >= 5
        expected = {t: 0 if t in EMPTIED else n for t, n in backed_up_production.counts_at_backup.items()}
        assert _row_counts(conn) == expected


def test_staging_refresh__repo1_unusable__restores_from_repo2(backed_up_production, staging_name, pg_cluster, tmp_path):
    database = backed_up_production.database
    ProtectedDatabase.objects.filter(pk=database.pk).update(repo1_path=str(tmp_path / "empty-repo1"))
    try:
        run = run_directly(RunKind.STAGING_REFRESH)
    finally:
        pg_cluster.engine.write_config()  # the live cluster archives through the same configuration file

    assert run.status == RunStatus.SUCCEEDED, run.error
    source = run.checks["source"]
    assert source["repo"] == 2 and source["backup_label"] == backed_up_production.labels["2"]
    assert len(source["repo_failures"]) == 1 and source["repo_failures"][0].startswith("repo1: ")
    assert count(staging_name, "customers") == BACKED_UP_CUSTOMERS
    assert _scratch_left(database) == []


def test_staging_refresh__no_good_backup__falls_back_to_pg_dump_and_says_why(targets_tx, protected, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert count(staging_name, "customers") == CUSTOMERS  # live production, dumped
    assert run.checks["source"] == {
        "kind": "backup_restore",
        "fallback": "pg_dump",
        "fallback_reason": f"{protected.stanza} has no good backup yet",
    }
    assert "fallback: " in run.steps.get(name="copy").detail
    assert (
        describe_source(run.checks["source"])
        == f"pg_dump of production, because {protected.stanza} has no good backup yet"
    )


def test_staging_refresh__backup_of_another_cluster__fails_and_staging_untouched(
    backed_up_production, staging_name, pg_cluster, production
):
    pg_cluster.sql(f'alter database "{production}" rename to "{production}_elsewhere"')
    run = backups.request_backup(database_id=backed_up_production.database_id, backup_type="incr", actor="test",
                                 enqueue=False)  # fmt: skip
    assert backups.execute_backup(run_id=run.pk).status == BackupStatus.GOOD
    pg_cluster.sql(f'alter database "{production}_elsewhere" rename to "{production}"')

    run = run_directly(RunKind.STAGING_REFRESH)

    assert run.status == RunStatus.FAILED
    assert f"holds no database {production!r}" in run.error
    assert databases_like(staging_name) == []  # nothing was swapped in
    assert _scratch_left(backed_up_production.database) == []
