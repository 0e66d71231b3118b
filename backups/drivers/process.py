"""Running the drivers' binaries as the database's OS user, and never leaving one orphaned."""

import ctypes
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass

_PR_SET_PDEATHSIG = 1


@dataclass
class Finished:
    args: list
    returncode: int
    stdout: str
    stderr: str


def _preexec(os_user):
    account = pwd.getpwnam(os_user) if os_user and os.geteuid() == 0 else None

    def run():
        if account is not None:
            # Like `runuser -u USER`, without a middle process that would outlive the worker.
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
        # After the uid change (which clears it): if the worker dies, so does pgBackRest, releasing its lock.
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return run


def user_env(os_user, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGBACKREST_")}
    if os_user and os.geteuid() == 0:
        account = pwd.getpwnam(os_user)
        env.update(HOME=account.pw_dir, USER=os_user, LOGNAME=os_user)
    env.update(extra or {})
    return env


def run(args, *, os_user=None, env=None, timeout=None, on_tick=None, tick=2.0, cwd="/") -> Finished:
    """Run `args` as `os_user` (when we are root), calling `on_tick()` every `tick` seconds while it runs."""
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",  # a wrong passphrase makes pgBackRest quote what it failed to decrypt
        env=user_env(os_user, env),
        cwd=cwd,
        preexec_fn=_preexec(os_user),  # noqa: PLW1509 - needed for setuid + PDEATHSIG; workers are not threaded
    )
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        try:
            out, err = proc.communicate(timeout=tick)
            return Finished(list(args), proc.returncode, out or "", err or "")
        except subprocess.TimeoutExpired:
            if deadline and time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                raise TimeoutError(f"{os.path.basename(args[0])} {args[1] if len(args) > 1 else ''} "
                                   f"took longer than {timeout}s and was stopped") from None  # fmt: skip
            if on_tick:
                on_tick()


def chown_to(path, os_user):
    if os_user and os.geteuid() == 0:
        account = pwd.getpwnam(os_user)
        os.chown(path, account.pw_uid, account.pw_gid)


def make_dir(path, os_user, mode=0o700):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    chown_to(path, os_user)
