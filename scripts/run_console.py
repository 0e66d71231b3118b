"""`make run`'s supervisor: web, worker and beat stop together, however `make run` is stopped.

honcho starts each process in a session of its own and handles only SIGINT and SIGTERM, so a closed
terminal (SIGHUP) or a dead `make` used to leave web, worker and beat running as orphans, and the next
`make run` started a second beat. Here honcho runs in a session of its own too, where the terminal's
signals cannot kill it half-way, and this process turns every way of stopping into honcho's own
orderly stop: Ctrl-C, `kill` (SIGTERM), SIGHUP, and the death of `make` itself.
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _stop_when_parent_dies():
    """Ask Linux for SIGTERM when `make` dies, however it died (kill -HUP of make alone, say)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the signal handlers below still cover Ctrl-C, kill and a closed terminal
    if os.getppid() == 1:  # make died before prctl took effect
        sys.exit(1)


def main(argv):
    _stop_when_parent_dies()
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", *argv], start_new_session=True)

    def stop(signum, frame):
        if honcho.poll() is None:
            # honcho knows INT and TERM: it stops every process, and kills what is left after 5 s.
            honcho.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    return honcho.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
