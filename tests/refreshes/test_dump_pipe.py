"""pg_dump piped into pg_restore: both stderr streams are drained while the copy runs, so warnings by the megabyte
cannot fill a pipe and stall the copy. Stand-ins play both programs."""

import sys
import threading

import pytest

from refreshes.drivers import base
from refreshes.exceptions import RefreshError
from refreshes.pg import Dsn

# Writes 2 MB of warnings (far past a pipe's 64 kB) before and after its dump, then the dump on stdout.
DUMP = """
import sys
warning = b"pg_dump: warning: " + b"x" * 1000 + b"\\n"
for _ in range(1000):
    sys.stderr.buffer.write(warning)
sys.stdout.buffer.write(b"DUMP" * 50000)
sys.stdout.flush()
for _ in range(1000):
    sys.stderr.buffer.write(warning)
sys.exit(int("dbname=broken " in sys.argv[-1]))
"""
# Reads its stdin to the end, with 2 MB of warnings on stderr; fails if it did not get the whole dump.
RESTORE = """
import sys
data = sys.stdin.buffer.read()
for _ in range(2000):
    sys.stderr.buffer.write(b"pg_restore: warning: " + b"y" * 1000 + b"\\n")
sys.stderr.buffer.write(b"pg_restore: read %d bytes\\n" % len(data))
sys.exit(0 if len(data) == 200000 else 1)
"""


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    for name, code in (("pg_dump", DUMP), ("pg_restore", RESTORE)):
        script = tmp_path / name
        script.write_text(f"#!{sys.executable}\n{code}")
        script.chmod(0o755)
        monkeypatch.setattr(base, name.upper(), str(script))


def _copy(source):
    outcome = {}

    def run():
        try:
            base.dump_into(Dsn.parse(source), Dsn.parse("postgres://postgres@127.0.0.1/scratch"), what="the stand-in")
            outcome["ok"] = True
        except RefreshError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the copy deadlocked on a full stderr pipe"
    return outcome


def test_dump_into__megabytes_of_warnings_on_both_sides__no_deadlock(stand_ins):
    assert _copy("postgres://postgres@127.0.0.1/production") == {"ok": True}


def test_dump_into__dump_fails_after_its_warnings__reported_with_the_end_of_its_stderr(stand_ins):
    outcome = _copy("postgres://postgres@127.0.0.1/broken")
    assert outcome["error"].startswith("pg_dump of the stand-in failed (1): ")
    assert outcome["error"].endswith("x" * 100)
