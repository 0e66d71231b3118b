"""One authentication and authorization check for every API.

`authenticate(request, scope=..., environment=..., permissions=...)` answers who is calling, as a Caller bound
for the rest of the request, or raises an AuthError that `@api` turns into a JSON 401/403 naming the problem:
  1. a token (Authorization: Bearer, or X-API-Key) must be known, live, unexpired, hold the scope, cover the
     environment, and belong to an active owner; with a token header, cookies and the session are never read;
  2. without one, a staff session is accepted only where the API says so, and its writes pass CSRF;
  3. then the owner (or session user) needs the same Django permissions a click in the admin needs.
"""

import logging
from functools import wraps

from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_exempt

from core import caller as callers
from core import tokens

logger = logging.getLogger("amarise_ops.auth")

READ = None  # scope for reads: any scope will do, the environment and the owner's view permission still apply
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class AuthError(Exception):
    status = 401
    code = "unauthenticated"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def response(self):
        return JsonResponse({"error": self.message, "code": self.code}, status=self.status)


class Unauthenticated(AuthError):
    status = 401
    code = "unauthenticated"


class Forbidden(AuthError):
    status = 403
    code = "forbidden"


class Unavailable(AuthError):
    status = 503
    code = "unavailable"


def raw_token(request) -> str | None:
    """The token the request carries, "" for an empty header, None when it carries none."""
    header = request.headers.get("Authorization")
    if header is not None and header[:7].lower() == "bearer ":
        return header[7:].strip()
    if header is not None and header.strip().lower() == "bearer":
        return ""
    key = request.headers.get("X-API-Key")
    return key.strip() if key is not None else None


def check_token(info, *, scope, environment, now=None):
    """The token rules, as a plain function of the token's description. Raises AuthError."""
    if info is None:
        raise Unauthenticated("this API token is unknown")
    if info["revoked"]:
        raise Unauthenticated(f"API token {info['prefix']} is revoked")
    if tokens.expired(info, now):
        raise Unauthenticated(f"API token {info['prefix']} has expired: make a new one")
    if not info["owner_active"]:
        raise Forbidden(f"API token {info['prefix']}'s owner is inactive")
    if scope is not None and scope not in info["scopes"]:
        raise Forbidden(f"API token {info['prefix']} lacks the {scope} scope")
    if environment is not None and environment not in info["environments"]:
        raise Forbidden(f"API token {info['prefix']} is not scoped to {environment!r}")


def check_permissions(user, permissions):
    missing = [p for p in permissions if not user.has_perm(p)]
    if missing:
        raise Forbidden(f"{user.get_username()} lacks the permission {', '.join(missing)}")


def _by_token(request, raw, *, scope, environment, permissions):
    if not raw:
        raise Unauthenticated("the Authorization header carries no token: Authorization: Bearer <token>")
    try:
        info = tokens.resolve(raw)
    except DatabaseError:
        raise Unavailable("the console's database is unavailable") from None
    check_token(info, scope=scope, environment=environment)
    request.api_token = info
    tokens.touch(info)
    user = None
    if permissions:
        try:
            user = get_user_model().objects.filter(pk=info["owner_id"], is_active=True).first()
        except DatabaseError:
            raise Unavailable("the console's database is unavailable") from None
        if user is None:
            raise Forbidden(f"API token {info['prefix']}'s owner is inactive")
        check_permissions(user, permissions)
    return callers.Caller(
        user=user or _lazy_owner(info["owner_id"]), via="api", token=info["prefix"], ip=callers.client_ip(request)
    )


def _by_session(request, *, permissions):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        raise Unauthenticated("an API token is required: Authorization: Bearer <token>")
    if request.method not in SAFE_METHODS:
        refusal = CsrfViewMiddleware(lambda r: None).process_view(request, _needs_csrf, (), {})
        if refusal is not None:
            raise Forbidden("a session-authenticated write needs a CSRF token (or use an API token)")
    check_permissions(user, permissions)
    return callers.Caller(user=user, via="api", session=True, ip=callers.client_ip(request))


def _needs_csrf(request):  # a callback without csrf_exempt, for CsrfViewMiddleware.process_view
    return None


def authenticate(request, *, scope, environment=None, permissions=(), session=False) -> callers.Caller:
    """The caller, bound as current until `@api` returns; or AuthError naming the problem."""
    raw = raw_token(request)
    if raw is not None:
        caller = _by_token(request, raw, scope=scope, environment=environment, permissions=permissions)
    elif session:
        caller = _by_session(request, permissions=permissions)
    else:
        raise Unauthenticated("an API token is required: Authorization: Bearer <token>")
    callers.bind(caller)  # reset by @api when the view returns
    return caller


def require_environment(request, environment) -> None:
    """For an API that learns its environment from the body or an object: the token must cover it too."""
    info = getattr(request, "api_token", None)
    if info is not None and environment not in info["environments"]:
        raise Forbidden(f"API token {info['prefix']} is not scoped to {environment!r}")


def token_environments(request) -> list[str]:
    """The environments of the token that authenticated this request (none for a session)."""
    info = getattr(request, "api_token", None)
    return list(info["environments"]) if info else []


def _lazy_owner(user_id):
    """The owner of a token on a read, loaded only if someone asks: keeps the warm read path query-free."""
    return SimpleLazyObject(lambda: get_user_model().objects.get(pk=user_id))


def api(*methods):
    """Decorate an API view: JSON 405 for other methods, AuthError as JSON, a database error as a JSON 503 (never
    a 500 page), no CSRF for tokens (session writes are checked by authenticate), the caller reset afterwards."""

    def decorate(view):
        @csrf_exempt  # tokens never use cookies; session writes are checked in authenticate()
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods and request.method not in methods:
                response = JsonResponse(
                    {"error": f"{request.method} is not allowed here; use {', '.join(methods)}"}, status=405
                )
                response["Allow"] = ", ".join(methods)
                return response
            handle = callers.bind(callers.current())
            try:
                return view(request, *args, **kwargs)
            except AuthError as exc:
                return exc.response()
            except DatabaseError:
                logger.exception("%s: the database failed", request.path)
                return Unavailable("the console's database is unavailable; retry later").response()
            finally:
                callers.unbind(handle)

        return wrapped

    return decorate
