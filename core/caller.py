"""Who is acting right now: the person or service account behind a request, hook, command or task.

Set once where a call enters the console (the session middleware, the token check, a command, a task) and read
by whoever records what was done (the audit log, events). A context variable, so threads and tasks never mix callers.
"""

import functools
import getpass
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

VIA = ("admin", "api", "hook", "command", "task", "system")


@dataclass(frozen=True)
class Caller:
    user: object | None = None  # a User: a person or a service account; None for the system itself
    via: str = "system"
    token: str = ""  # the token's display prefix, when a token authenticated the call
    session: bool = False  # authenticated by a session cookie
    ip: str = ""
    name: str = ""  # who, when no user acts: a command and its OS user, a task's name
    reason: str = ""  # why, when the person confirmed the action with a reason (core.confirm)

    @property
    def label(self) -> str:
        who = getattr(self.user, "get_username", lambda: self.name or "system")()
        return f"{who} via token {self.token}" if self.token else who

    def but(self, **changes) -> "Caller":
        return replace(self, **changes)


SYSTEM = Caller()
_current: ContextVar[Caller] = ContextVar("ops_caller", default=SYSTEM)


def current() -> Caller:
    return _current.get()


def bind(caller: Caller):
    """Make `caller` current until `unbind(handle)`; for middleware, which cannot use a `with` block."""
    return _current.set(caller)


def unbind(handle) -> None:
    _current.reset(handle)


@contextmanager
def acting(caller: Caller):
    handle = bind(caller)
    try:
        yield caller
    finally:
        unbind(handle)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a container with a bare uid)
        return "unknown"


def for_command(command: str) -> Caller:
    return Caller(via="command", name=f"command {command} by {os_user()}")


def for_task(task: str, *, queued_by: str = "") -> Caller:
    return Caller(via="task", name=f"task {task}" + (f" queued by {queued_by}" if queued_by else ""))


def bind_commands() -> None:
    """Every management command acts as itself (name and OS user) unless a caller is already bound: a command
    called from a request or a task keeps that caller. Installed once, by core's AppConfig.ready()."""
    from django.core.management.base import BaseCommand

    if getattr(BaseCommand.execute, "binds_caller", False):
        return
    execute = BaseCommand.execute

    @functools.wraps(execute)
    def execute_as_command(self, *args, **options):
        if current() is not SYSTEM:
            return execute(self, *args, **options)
        with acting(for_command(type(self).__module__.rsplit(".", 1)[-1])):
            return execute(self, *args, **options)

    execute_as_command.binds_caller = True
    BaseCommand.execute = execute_as_command


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wrote unless a trusted proxy set it.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def carries_token(request) -> bool:
    return "Authorization" in request.headers or "X-API-Key" in request.headers


def from_request(request, *, via: str = "admin") -> Caller:
    # A call with a token never reads the session (core.auth binds the token's owner instead).
    user = None if carries_token(request) else getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    # Unauthenticated (a hook before its token check): named by where it came in, for the audit log.
    name = "" if authenticated else f"{via} {request.path}"[:200]
    return Caller(
        user=user if authenticated else None, via=via, session=authenticated, ip=client_ip(request), name=name
    )


HOOK_PATHS = ("/api/hooks/", "/api/alerts/")  # the git hook and Alertmanager's webhook
API_PATHS = ("/api/", "/ofrep/")


def via_of(path: str) -> str:
    if path.startswith(HOOK_PATHS):
        return "hook"
    return "api" if path.startswith(API_PATHS) else "admin"


class CallerMiddleware:
    """Binds the session's user as the caller for the whole request; a token check rebinds it for API calls."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = via_of(request.path)
        handle = bind(from_request(request, via=via))
        try:
            return self.get_response(request)
        finally:
            unbind(handle)
