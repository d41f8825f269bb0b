"""Login, logout and whoami, and `authenticate`, which the auth middleware calls on every
request: a bearer token or the `vp_session` cookie, with the CSRF token demanded on each
state-changing request that comes with the cookie.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site sends
it), Secure when the request came over HTTPS (directly, or through a trusted reverse proxy
that says so in X-Forwarded-Proto), and lasts `accounts.session_hours`. The CSRF
token is given at login and by whoami; a page sends it back as the X-CSRF-Token header.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError

from vp_monitor.accounts import service
from vp_monitor.accounts.principal import ROLES, Principal
from vp_monitor.accounts.schemas import LoginInput
from vp_monitor.accounts.settings import AccountSettings
from vp_monitor.db import session_factory, transaction
from vp_monitor.redaction import validation_problems
from vp_monitor.texts import Message, MessageError, Texts

COOKIE = "vp_session"
CSRF_HEADER = "X-CSRF-Token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SIGNED_IN = frozenset(ROLES)


def error_body(texts: Texts, message: Message | MessageError, field: str | None = None) -> str:
    """The API's error document: `{"error": "...", "field": "..."}`."""
    body: dict[str, Any] = {"error": message.render(texts)}
    if field is not None:
        body["field"] = field
    return json.dumps(body, ensure_ascii=False)


def error_response(
    texts: Texts, status: int, message: Message | MessageError, field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:  # fmt: skip
    return web.Response(
        status=status, text=error_body(texts, message, field), content_type="application/json",
        headers=headers,
    )  # fmt: skip


class CsrfRefused(web.HTTPForbidden):
    """A state-changing request authenticated by the session cookie without the session's
    CSRF token: refused with 403 and the API's error document."""

    def __init__(self, texts: Texts) -> None:
        super().__init__(
            text=error_body(texts, Message("session.csrf")), content_type="application/json"
        )


def _vp_app(request: web.Request):
    return request.app["vp_app"]


def _settings(app) -> AccountSettings:
    return getattr(app.settings, "accounts", None) or AccountSettings()


def _in_session(app, work, *args):
    """`work(session, *args)` in one transaction (run in the database pool)."""
    with transaction(session_factory(app.engine)) as session:
        return work(session, *args)


async def authenticate(app, request: web.Request, public: bool = False) -> Principal | None:
    """The caller of a request, from `Authorization: Bearer TOKEN` or the session cookie;
    None when it brings neither, or one that is unknown, expired or revoked. A request with
    the cookie that changes state (POST, PUT, PATCH, DELETE) must carry the session's CSRF
    token in X-CSRF-Token, else CsrfRefused (403); on a `public` route (the login itself,
    which rotates the session the browser had) it is only not signed in. `app` is the
    service App."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, raw = authorization.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        return await app.run_blocking(_in_session, app, service.principal_for_token, raw.strip())
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    found = await app.run_blocking(_in_session, app, service.principal_for_session, cookie)
    if found is None:
        return None
    principal, csrf_token = found
    if request.method in STATE_CHANGING:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token.encode()):
            if public:
                return None
            raise CsrfRefused(app.texts)
    request["csrf_token"] = csrf_token
    return principal


async def _login_fields(request: web.Request) -> dict[str, Any]:
    """The body of a login: JSON or a form post. ValueError (its catalogue key) for a body
    that is not an object, TypeError for another content type."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("request.malformed_json") from None
        if not isinstance(body, dict):
            raise ValueError("request.json_object")
        return body
    if request.content_type in FORM_TYPES:
        form = await request.post()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raise TypeError(request.content_type)


def _same_origin(request: web.Request) -> bool:
    """A browser's login from another site's page is refused (login CSRF); clients that send
    no Origin (scripts, curl) are not browsers made to post."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (request.host or "").lower()


def client_address(request: web.Request, settings: AccountSettings) -> str | None:
    """The caller's address: the one a trusted reverse proxy says it saw (the last entry of
    X-Forwarded-For, which the proxy appends), else the peer's."""
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and request.remote in settings.trusted_proxies:
        return forwarded.rsplit(",", 1)[-1].strip() or request.remote
    return request.remote


def over_https(request: web.Request, settings: AccountSettings) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a trusted proxy."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "")
    return request.remote in settings.trusted_proxies and proto.lower() == "https"


async def login(request: web.Request) -> web.Response:
    """POST /api/v1/session: sign in with {name, password} (JSON or a form); sets the
    session cookie and returns {name, role, csrf_token}."""
    app = _vp_app(request)
    texts = app.texts
    if not _same_origin(request):
        return error_response(texts, 403, Message("session.csrf"))
    try:
        fields = await _login_fields(request)
    except TypeError:
        return error_response(texts, 415, Message("request.content_type"))
    except ValueError as exc:
        return error_response(texts, 400, Message(str(exc)))
    try:
        data = LoginInput.model_validate(fields)
    except ValidationError as exc:
        problem = validation_problems(exc)[0]
        reason = Message("request.unknown_field") if problem.unknown else problem.reason
        return error_response(texts, 400, reason, problem.field)
    settings = _settings(app)
    try:
        cookie, csrf_token, principal = await app.run_blocking(
            _in_session, app, _login_with, data, client_address(request, settings), settings,
            request.cookies.get(COOKIE),
        )  # fmt: skip
    except service.LoginThrottled as exc:
        retry = {"Retry-After": str(max(1, round(exc.retry_after_s)))}
        return error_response(texts, 429, exc, headers=retry)
    except service.LoginRefused as exc:
        return error_response(texts, 401, exc)
    response = web.json_response(
        {"name": principal.name, "role": principal.role, "csrf_token": csrf_token}
    )
    response.set_cookie(
        COOKIE, cookie, max_age=int(settings.session_hours * 3600), path="/", httponly=True,
        samesite="Strict", secure=over_https(request, settings),
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_with(session, data: LoginInput, address, settings, previous):
    return service.login(
        session, data.name, data.password, address, settings=settings, previous_cookie=previous
    )


async def logout(request: web.Request) -> web.Response:
    """DELETE /api/v1/session: end this browser's session and clear its cookie."""
    app = _vp_app(request)
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await app.run_blocking(_in_session, app, service.logout, cookie)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(request: web.Request) -> web.Response:
    """GET /api/v1/session: the caller, its scope, and the CSRF token of its session."""
    principal: Principal = request["principal"]
    body = {
        "name": principal.name,
        "role": principal.role,
        "municipalities": sorted(principal.municipalities),
        "maintainer": principal.maintainer,
        "language": principal.language,
        "token": principal.token,
        "csrf_token": request.get("csrf_token"),
    }
    response = web.json_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTES: list[dict[str, Any]] = [
    {"method": "POST", "path": "/api/v1/session", "handler": login, "roles": "public",
     "summary": "Sign in (JSON or form {name, password}): sets the session cookie, returns "
                "the CSRF token."},
    {"method": "DELETE", "path": "/api/v1/session", "handler": logout, "roles": SIGNED_IN,
     "summary": "Sign out: the session ends, its cookie is cleared."},
    {"method": "GET", "path": "/api/v1/session", "handler": whoami, "roles": SIGNED_IN,
     "summary": "Who is signed in, what they may see, and the session's CSRF token."},
]  # fmt: skip
