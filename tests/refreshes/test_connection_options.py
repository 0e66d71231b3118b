"""Every libpq option of a data target's URL reaches psycopg and pg_dump/pg_restore: proven over TLS with
sslmode=verify-full against a cluster that rejects plain connections, with a CA made in the test."""

import psycopg
import pytest

from refreshes import pg
from refreshes.drivers.pg_dump import PgDumpSource
from refreshes.exceptions import RefreshError
from tests.refreshes.conftest import PREFIX, admin_conn, db_url, drop, query
from tests.refreshes.tls_cluster import start_tls_cluster


@pytest.fixture(scope="module")
def tls():
    cluster = start_tls_cluster()
    with psycopg.connect(cluster.url()) as conn:
        conn.execute("CREATE TABLE lamps (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO lamps SELECT g, 'lamp ' || g FROM generate_series(1, 25) g")
    yield cluster
    cluster.stop()


@pytest.fixture
def scratch():
    name = f"{PREFIX}tls_scratch"
    drop(name)
    with admin_conn() as conn:
        pg.create_database(conn, name)
    yield pg.Dsn.parse(db_url(name))
    drop(name)


def test_dsn__libpq_options__all_kept_password_never_on_the_command_line():
    dsn = pg.Dsn.parse(
        "postgres://shop:s%40cret@db.internal:6543/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        "&target_session_attrs=read-write&options=-c%20statement_timeout%3D5000"
    )
    params = dsn.kwargs(read_only=True)
    assert params["sslmode"] == "verify-full" and params["sslrootcert"] == "/etc/ca.pem"
    assert params["target_session_attrs"] == "read-write" and params["password"] == "s@cret"
    assert params["options"] == "-c statement_timeout=5000 -c default_transaction_read_only=on"
    assert dsn.with_db("amarise_ops_refreshes_x").kwargs()["sslrootcert"] == "/etc/ca.pem"
    argument, env = dsn.command_args(read_only=True)
    assert argument.startswith("--dbname=") and "sslmode=verify-full" in argument
    assert "sslrootcert=/etc/ca.pem" in argument
    assert "s@cret" not in argument and env == {"PGPASSWORD": "s@cret"}
    assert str(dsn) == "shop@db.internal:6543/shop"


def test_dsn_url__every_option_round_trips_for_the_migrations_executor():
    dsn = pg.Dsn.parse("postgres://u:p%40ss@db/shop?sslmode=verify-full&sslrootcert=/etc/my%20ca.pem")
    assert pg.Dsn.parse(dsn.url()) == dsn and dsn.url().startswith("postgresql://u:p%40ss@db:5432/shop?")


def test_connect__verify_full_with_the_test_ca__over_tls(tls):
    with pg.connect(pg.Dsn.parse(tls.url()), read_only=True) as conn:
        ssl, name = conn.execute(
            "SELECT s.ssl, a.application_name FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
            "WHERE pid = pg_backend_pid()"
        ).fetchone()
        assert ssl is True and name == "tls-test"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


def test_connect__verify_full_with_a_ca_that_did_not_sign__refused(tls):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        pg.connect(pg.Dsn.parse(tls.url(ca=tls.other_ca_file)))


def test_pg_dump__verify_full__copies_over_tls_and_refuses_the_wrong_ca(tls, scratch):
    PgDumpSource(pg.Dsn.parse(tls.url())).copy_into(scratch)
    assert query(scratch.dbname, "SELECT count(*), max(name) FROM lamps") == [(25, "lamp 9")]

    with pytest.raises(RefreshError, match="pg_dump of production .* failed.*certificate verify failed"):
        PgDumpSource(pg.Dsn.parse(tls.url(ca=tls.other_ca_file))).copy_into(scratch)
