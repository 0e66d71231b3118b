"""PostgreSQL clusters the console starts itself: a restore drill's scratch cluster (and the tests' own)."""

import random
import re
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path

import psycopg

from backups.drivers import process
from backups.drivers.base import DriverError

# Logged at the end of recovery: the last transaction that WAS replayed. ("recovery stopping before commit of
# transaction N, time T" names the first one that was not: never a recovery point.)
_LAST_TX = re.compile(r"last completed transaction was at log time ([0-9-]+ [0-9:.]+\+\d\d)")


def free_port(low=20000, high=40000):
    """A port nobody listens on, picked at random in [low, high)."""
    for _ in range(200):
        port = random.randrange(low, high)  # noqa: S311 - not a secret
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DriverError("no free port found for a scratch cluster")


class Cluster:
    """A cluster in `data_directory`, reachable on a unix socket in `socket_directory` (and TCP when listen)."""

    def __init__(self, *, bin_dir, data_directory, port, socket_directory, os_user, listen=""):
        self.bin_dir = Path(bin_dir)
        self.data_directory = str(data_directory)
        self.port = port
        self.socket_directory = str(socket_directory)
        self.os_user = os_user
        self.listen = listen
        self.log_file = str(Path(self.socket_directory) / f"postgres-{port}.log")

    def _pg_ctl(self, *args, timeout=None, env=None):
        done = process.run([str(self.bin_dir / "pg_ctl"), "-D", self.data_directory, *args],
                           os_user=self.os_user, timeout=timeout, env=env)  # fmt: skip
        if done.returncode != 0:
            raise DriverError(
                f"pg_ctl {args[0]} failed: {(done.stderr or done.stdout).strip()[-200:]}{self._log_tail()}"
            )
        return done

    def _log_tail(self):
        try:
            lines = Path(self.log_file).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "; server log: " + " | ".join(lines[-8:])[-1500:] if lines else ""

    def start(self, *settings, timeout=600, env=None):
        options = [f"-p {self.port}", f"-c unix_socket_directories='{self.socket_directory}'",
                   f"-c listen_addresses='{self.listen}'", *(f"-c {s}" for s in settings)]  # fmt: skip
        self._pg_ctl("start", "-w", "-t", str(timeout), "-l", self.log_file, "-o", " ".join(options), timeout=timeout,
                     env=env)  # fmt: skip

    def stop(self, mode="fast"):
        if Path(self.data_directory, "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-m", mode, timeout=120)

    def connect(self, dbname="postgres", **kwargs):
        return psycopg.connect(host=self.socket_directory, port=self.port, user="postgres", dbname=dbname,
                               autocommit=True, connect_timeout=5, **kwargs)  # fmt: skip

    def wait_serving(self, timeout):
        """Until the cluster answers queries as a primary (recovery over, promoted)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect() as conn:
                    if not conn.execute("select pg_is_in_recovery()").fetchone()[0]:
                        return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise DriverError(f"the restored cluster was not serving after {timeout}s; see {self.log_file}")
            time.sleep(0.1)

    def recovery_point(self):
        """The commit time of the last transaction recovery replayed: what the restored copy holds, at most.

        `pg_last_xact_replay_timestamp()` stays at that transaction after the promotion, whatever the copy does
        since; the server log's "last completed transaction" line when the copy does not answer. None when
        recovery replayed no transaction (the caller falls back to the end of the backup)."""
        try:
            with self.connect() as conn:
                replayed = conn.execute("select pg_last_xact_replay_timestamp()").fetchone()[0]
            if replayed is not None:
                return replayed
        except psycopg.Error:
            pass
        try:
            log = Path(self.log_file).read_text(errors="replace")
        except OSError:
            return None
        found = _LAST_TX.findall(log)
        return datetime.fromisoformat(found[-1] + ":00") if found else None


def init_cluster(*, bin_dir, data_directory, os_user, settings=()):
    """initdb a new cluster with trust auth (tests and the bench only) and append `settings` to its config."""
    process.make_dir(data_directory, os_user)
    done = process.run([str(Path(bin_dir) / "initdb"), "-D", str(data_directory), "-A", "trust", "-U", "postgres",
                        "--no-sync"], os_user=os_user)  # fmt: skip
    if done.returncode != 0:
        raise DriverError(f"initdb failed: {done.stderr.strip()[-300:]}")
    with open(Path(data_directory) / "postgresql.conf", "a") as conf:
        conf.write("\n".join(settings) + "\n")


def remove_directory(path):
    shutil.rmtree(path, ignore_errors=True)
    return not Path(path).exists()
