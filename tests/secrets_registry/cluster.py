"""A PostgreSQL cluster of the secrets tests' own, with password (SCRAM) authentication over TCP, so that an old
password really stops working. The main test server trusts 127.0.0.1, which would prove nothing."""

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_PASSWORD = "admin-pw-for-tests"
ROLE = "amarise_app"
DATABASE = "amarise_shop"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args):
    done = subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], capture_output=True, text=True,
                          cwd="/")  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")
    return done


@dataclass
class RoleCluster:
    root: Path
    port: int

    @property
    def log_file(self):
        return self.root / "server.log"

    @property
    def admin_url(self):
        return f"postgres://postgres:{ADMIN_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def url(self, password, role=ROLE):
        return f"postgres://{role}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def admin(self, **kwargs):
        return psycopg.connect(host=str(self.root / "sock"), port=self.port, user="postgres", dbname="postgres",
                               autocommit=True, **kwargs)  # fmt: skip

    def connects(self, url):
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                return conn.execute("select current_user").fetchone()[0] == ROLE
        except psycopg.OperationalError:
            return False

    def stop(self):
        _as_postgres(BIN / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_role_cluster(initial_password) -> RoleCluster:
    root = Path(tempfile.mkdtemp(prefix="secrets-pg-", dir="/tmp"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user works inside
    for sub in ("data", "sock"):
        (root / sub).mkdir()
    shutil.chown(root, "postgres", "postgres")
    for sub in ("data", "sock"):
        shutil.chown(root / sub, "postgres", "postgres")
    port = _free_port()
    _as_postgres(BIN / "initdb", "-D", root / "data", "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync")  # fmt: skip
    with open(root / "data" / "postgresql.conf", "a") as conf:
        # Every statement logged: the value scan reads this log too.
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root / 'sock'}'\n"
                   "fsync = off\nlog_statement = 'all'\npassword_encryption = 'scram-sha-256'\n")  # fmt: skip
    _as_postgres(BIN / "pg_ctl", "-D", root / "data", "-l", root / "server.log", "-w", "start")
    cluster = RoleCluster(root=root, port=port)
    with cluster.admin() as conn:
        conn.execute(f"ALTER ROLE postgres PASSWORD '{ADMIN_PASSWORD}'")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{initial_password}'")
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    return cluster
