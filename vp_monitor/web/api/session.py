"""Sign-in: login, logout and whoami, and `authenticate`, which every request goes through
(web/app.py): a bearer token or the `vp_session` cookie, with the CSRF token demanded on each
state-changing request that comes with the cookie.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site sends
it), Secure when the request came over HTTPS (directly, or through a trusted reverse proxy:
web/app.py takes the scheme and client address from it), and lasts `accounts.session_hours`.
The CSRF token is given at login and by whoami; a page sends it back as X-CSRF-Token.
"""

from __future__ import annotations

import hmac
import math
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel

from vp_monitor.accounts import service
from vp_monitor.accounts.principal import Principal
from vp_monitor.accounts.schemas import LoginInput
from vp_monitor.web.call import Call
from vp_monitor.web.errors import ApiError
from vp_monitor.web.keys import CSRF_TOKEN, PRINCIPALS
from vp_monitor.web.routes import EVERYONE, PUBLIC, Route

COOKIE = "vp_session"
CSRF_HEADER = "X-CSRF-Token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignedIn(BaseModel):
    """Who is signed in, what they may see, and the session's CSRF token (None with a
    token: scripts need none)."""

    name: str
    role: str
    municipalities: list[str]
    maintainer: str | None
    language: str
    token: str | None
    csrf_token: str | None


async def authenticate(app, request: web.Request, public: bool = False) -> Principal | None:
    """The caller of a request, from `Authorization: Bearer TOKEN` or the session cookie;
    None when it brings neither, or one that is unknown, expired or revoked. A request with
    the cookie that changes state must carry the session's CSRF token in X-CSRF-Token, else
    403; on a `public` route (the login itself, which replaces the session the browser had)
    it is only not signed in. `app` is the service App."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, raw = authorization.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        found = await _remembered(request, app, "token", raw.strip())
        return found[0] if found else None
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    found = await _remembered(request, app, "session", cookie)
    if found is None:
        return None
    principal, csrf_token = found
    if request.method in STATE_CHANGING:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token.encode()):
            if public:
                return None
            raise ApiError(403, "session.csrf")
    request[CSRF_TOKEN] = csrf_token
    return principal


async def _remembered(
    request: web.Request, app, kind: str, raw: str
) -> tuple[Principal, str | None] | None:
    """The caller (and CSRF token) of a token or cookie, looked up at most once per
    `web.principal_cache_s` (web/cache.py); kept by digest, never the secret itself. Unknown
    ones are not kept: they are looked up (and refused) each time."""

    async def look_up() -> tuple[Principal, str | None] | None:
        if kind == "token":
            principal = await app.in_session(service.principal_for_token, raw)
            return (principal, None) if principal else None
        return await app.in_session(service.principal_for_session, raw)

    return await request.app[PRINCIPALS].get_or_compute((kind, service.digest(raw)), look_up)


def _same_origin(request: web.Request) -> bool:
    """A browser's login from another site's page is refused (login CSRF); clients that send
    no Origin (scripts, curl) are not browsers made to post."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (request.host or "").lower()


def _signed_in(principal: Principal, csrf_token: str | None) -> SignedIn:
    return SignedIn(
        name=principal.name, role=principal.role, municipalities=sorted(principal.municipalities),
        maintainer=principal.maintainer, language=principal.language, token=principal.token,
        csrf_token=csrf_token,
    )  # fmt: skip


async def login(call: Call) -> web.Response:
    """Sign in with {name, password}: the session cookie is set (a new one at each login),
    the CSRF token returned."""
    request, app = call.request, call.app
    if not _same_origin(request):
        raise ApiError(403, "session.csrf")
    settings = app.settings.accounts
    try:
        cookie, csrf_token, principal = await app.in_session(
            service.login, call.body.name, call.body.password, request.remote, None,
            settings=settings, previous_cookie=request.cookies.get(COOKIE),
        )  # fmt: skip
    except service.LoginThrottled as exc:
        retry = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        raise ApiError(429, exc.message, headers=retry) from None
    except service.LoginRefused as exc:
        raise ApiError(401, exc.message) from None
    response = web.json_response(_signed_in(principal, csrf_token).model_dump())
    response.set_cookie(
        COOKIE, cookie, max_age=int(settings.session_hours * 3600), path="/", httponly=True,
        samesite="Strict", secure=request.secure,
    )  # fmt: skip
    return response


async def logout(call: Call) -> web.Response:
    """Sign out: this browser's session ends and its cookie is cleared."""
    cookie = call.request.cookies.get(COOKIE)
    if cookie:
        await call.app.in_session(service.logout, cookie)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(call: Call) -> SignedIn:
    """Who is signed in, what they may see, and the session's CSRF token."""
    return _signed_in(call.principal, call.request.get(CSRF_TOKEN))


ROUTES = [
    Route("POST", "/api/v1/session", login, PUBLIC, "Sign in: sets the session cookie and "
          "returns the CSRF token", body=LoginInput, response=SignedIn, errors=(401, 403, 429),
          tags=("session",)),
    Route("DELETE", "/api/v1/session", logout, EVERYONE, "Sign out", status=204,
          tags=("session",)),
    Route("GET", "/api/v1/session", whoami, EVERYONE,
          "Who is signed in, what they may see, and the session's CSRF token",
          response=SignedIn, tags=("session",)),
]  # fmt: skip
