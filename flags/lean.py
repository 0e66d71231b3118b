"""The lean read path: warm flag reads answered at the WSGI level, in front of Django's middleware and URLs.

`LeanFlagsApp(django_app)` wraps the console's WSGI application (amarise_ops/wsgi.py). For exactly
    GET|HEAD /api/flags/<env>/          GET|HEAD /api/flags/<env>/<key>/
    POST /ofrep/v1/evaluate/flags       POST /ofrep/v1/evaluate/flags/<key>
it answers the successful reads (200, and 304 where the view answers it) itself, with the bytes prepared
when the document changed (flags/answers.py) and the headers the middleware stack would add
(SecurityMiddleware, XFrameOptionsMiddleware, CommonMiddleware's Content-Length). It touches no session,
no messages, no CSRF and no URL resolver. Everything else is handed to Django unchanged, the request body
included: unknown environments and flags, every refused token, bad bodies, a query string, a host Django
would refuse, a plain-HTTP request SECURE_SSL_REDIRECT would redirect, a database or cache failure.
So each error answer is still written by flags/api.py and core/auth.py, and only answers Django would give
too are given here.

The rules stay the same: documents come from documents.get_document (the per-process copy Redis
invalidates: a change is seen on the next read in every process), and a token goes through
core.tokens.resolve (the per-process digest map, invalidated the same way when a token changes), then
core.auth.check_token, then core.tokens.touch (last use, once a minute), with the token's owner bound as
the caller, as core.auth does.
"""

import io
import logging
import re
import threading
import time

from django import db
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from core import auth, tokens
from core import caller as callers
from core.http import BodyRefused, parse_json
from core.models import Scope
from flags.answers import answers_for
from flags.documents import get_document

logger = logging.getLogger("amarise_ops.flags")

DOCUMENT = "document"
DETAIL = "detail"
OFREP_BULK = "ofrep bulk"
OFREP_SINGLE = "ofrep single"

_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")  # Django's <slug:...>
_HOSTS_KEPT = 64  # hosts whose verdict is remembered (a client can send any Host header)


def route(method: str, path: str):
    """(kind, environment, key) for a path and method the lean path may answer, else None. A plain function."""
    if path.startswith("/api/flags/"):
        if method not in ("GET", "HEAD") or not path.endswith("/"):
            return None
        parts = path[11:-1].split("/")
        if len(parts) == 1 and _SLUG.match(parts[0]):
            return DOCUMENT, parts[0], None
        if len(parts) == 2 and _SLUG.match(parts[0]) and parts[1]:
            return DETAIL, parts[0], parts[1]
        return None
    if path.startswith("/ofrep/v1/evaluate/flags") and method == "POST":
        rest = path[24:]
        if rest == "":
            return OFREP_BULK, None, None
        if rest.startswith("/") and len(rest) > 1 and "/" not in rest[1:]:
            return OFREP_SINGLE, None, rest[1:]
    return None


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add to an answer (tests compare them)."""
    headers = []
    if secure and settings.SECURE_HSTS_SECONDS and settings.SECURE_HSTS_SECONDS > 0:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if not isinstance(policy, str):
            policy = ",".join(policy)
        headers.append(("Referrer-Policy", policy))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers


class _Headers:
    """Just enough of a request for core.auth.raw_token: the two headers a token travels in."""

    def __init__(self, environ):
        self.headers = {}
        if "HTTP_AUTHORIZATION" in environ:
            self.headers["Authorization"] = environ["HTTP_AUTHORIZATION"]
        if "HTTP_X_API_KEY" in environ:
            self.headers["X-API-Key"] = environ["HTTP_X_API_KEY"]


class _Decline(Exception):  # noqa: N818 - not an error: "let Django answer this one"
    pass


class LeanFlagsApp:
    def __init__(self, django_app):
        self.django_app = django_app
        self._hosts = {}
        self._headers = {True: security_headers(True), False: security_headers(False)}
        self._exempt = [re.compile(r) for r in settings.SECURE_REDIRECT_EXEMPT]

    def __call__(self, environ, start_response):
        found = route(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if found is not None and self._plain(environ):
            opened = db.connection.connection
            try:
                answer = self._answer(environ, *found)
            except _Decline:
                answer = None
            except Exception:  # never a 500 from here: Django answers it, and logs whatever it meets
                logger.exception("lean flags path failed on %s; answering through Django", environ.get("PATH_INFO"))
                answer = None
            finally:
                _finish(opened)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.django_app(environ, start_response)

    # --- when the lean path may answer at all ---

    def _plain(self, environ) -> bool:
        """A request any of the middleware would treat specially goes to Django."""
        if environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME"):
            return False
        if not environ.get("PATH_INFO", "").isascii() or settings.DISALLOWED_USER_AGENTS:
            return False
        if settings.USE_X_FORWARDED_HOST or not self._host_allowed(_host(environ)):
            return False
        if settings.SECURE_SSL_REDIRECT and not self._secure(environ):
            path = environ["PATH_INFO"].lstrip("/")
            if not any(pattern.search(path) for pattern in self._exempt):
                return False  # SecurityMiddleware redirects it
        return True

    def _host_allowed(self, host) -> bool:
        allowed = self._hosts.get(host)
        if allowed is None:
            hosts = settings.ALLOWED_HOSTS
            if settings.DEBUG and not hosts:
                hosts = [".localhost", "127.0.0.1", "[::1]"]
            domain, _port = split_domain_port(host)
            allowed = bool(host) and bool(domain) and validate_host(domain, hosts)
            if len(self._hosts) < _HOSTS_KEPT:
                self._hosts[host] = allowed
        return allowed

    @staticmethod
    def _secure(environ) -> bool:
        header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        if header:
            name, value = header
            forwarded = environ.get(name)
            if forwarded is not None:
                return forwarded.split(",", 1)[0].strip() == value
        return environ.get("wsgi.url_scheme") == "https"

    # --- the answers ---

    def _answer(self, environ, kind, environment, key):
        ip = environ.get("REMOTE_ADDR", "")
        if kind in (DOCUMENT, DETAIL):  # public reads: no token, as flags/api.py
            handle = callers.bind(callers.Caller(via="api", ip=ip, name=f"api {environ['PATH_INFO']}"[:200]))
            try:
                return self._read(environ, kind, environment, key)
            finally:
                callers.unbind(handle)
        info = self._token(environ)
        body = self._body(environ)
        handle = callers.bind(
            callers.Caller(user=auth._lazy_owner(info["owner_id"]), via="api", token=info["prefix"], ip=ip)
        )
        try:
            tokens.touch(info)
            return self._ofrep(environ, kind, key, info, body)
        finally:
            callers.unbind(handle)

    def _document(self, environment):
        try:
            document = get_document(environment)
        except Exception:  # the database and the cache are both down: the view answers 503
            raise _Decline from None
        if document is None:
            raise _Decline  # the view's JSON 404
        return document

    def _read(self, environ, kind, environment, key):
        document = self._document(environment)
        answers = answers_for(document)
        cache = [("ETag", answers.etag), ("Cache-Control", f"max-age={_ttl()}")]
        if kind == DETAIL:
            if key not in document["flags"]:
                raise _Decline
            return self._ok(environ, answers.detail(key), cache)
        if _not_modified(environ, answers.etag):
            return self._not_modified(environ, cache)
        return self._ok(environ, answers.body, cache)

    def _token(self, environ):
        raw = auth.raw_token(_Headers(environ))
        if not raw:
            raise _Decline
        try:
            info = tokens.resolve(raw)
            auth.check_token(info, scope=Scope.FLAGS_READ, environment=None)
        except Exception:  # refused (the view says why) or the database is down (its 503)
            raise _Decline from None
        return info

    def _body(self, environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Decline from None
        if length <= 0:
            if environ.get("HTTP_TRANSFER_ENCODING"):
                raise _Decline
            return {}
        if length > (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440):
            raise _Decline
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # Django reads it again if it answers after all
        try:
            return parse_json(raw, empty={})
        except BodyRefused:
            raise _Decline from None

    def _ofrep(self, environ, kind, key, info, payload):
        context = payload.get("context", {}) if isinstance(payload, dict) else None
        if not isinstance(context, dict):
            raise _Decline
        scope = info["environments"]
        wanted = context.get("environment")
        if (wanted is not None and wanted not in scope) or (wanted is None and len(scope) != 1):
            raise _Decline
        document = self._document(wanted or scope[0])
        answers = answers_for(document)
        if kind == OFREP_SINGLE:
            if key not in document["flags"]:
                raise _Decline
            return self._ok(environ, answers.ofrep_single(key), [])
        if _not_modified(environ, answers.etag):
            return self._not_modified(environ, [("ETag", answers.etag)])
        return self._ok(environ, answers.ofrep_bulk, [("ETag", answers.etag)])

    def _ok(self, environ, body, extra):
        headers = [("Content-Type", "application/json"), *extra, ("Content-Length", str(len(body))),
                   *self._headers[self._secure(environ)]]  # fmt: skip
        return "200 OK", headers, body

    def _not_modified(self, environ, extra):
        # As Django sends the views' HttpResponse(status=304): its default content type, an empty body.
        headers = [("Content-Type", "text/html; charset=utf-8"), *extra, ("Content-Length", "0"),
                   *self._headers[self._secure(environ)]]  # fmt: skip
        return "304 Not Modified", headers, b""


_thread = threading.local()


def _finish(opened_before):
    """What request_finished does for Django's requests (close the database connection per CONN_MAX_AGE, or
    when it broke), when it matters: this request opened the connection (a cold read, a token lookup), or a
    second has passed in this thread. A warm read opened nothing and does not pay the signals each time."""
    connection = db.connection.connection
    if connection is None:
        return
    now = time.monotonic()
    if connection is not opened_before or now >= getattr(_thread, "next_check", 0.0):
        _thread.next_check = now + 1.0
        db.reset_queries()
        db.close_old_connections()


def _host(environ) -> str:
    """The host as HttpRequest.get_host() reads it (without X-Forwarded-Host, which sends the request to Django)."""
    host = environ.get("HTTP_HOST")
    if host:
        return host
    host, port = environ.get("SERVER_NAME", ""), str(environ.get("SERVER_PORT", ""))
    scheme = environ.get("wsgi.url_scheme")
    return host if (scheme, port) in (("http", "80"), ("https", "443")) else f"{host}:{port}"


def _not_modified(environ, current_etag) -> bool:
    tags = [t.strip() for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")]
    return current_etag in tags or "*" in tags


def _ttl() -> int:
    from flags import conf

    return conf.cache_ttl()
