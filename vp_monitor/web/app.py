"""The aiohttp application: the route table turned into handlers, and what every request
goes through (security headers, sign-in, role check, input validation, errors as JSON).

Built on the same service `App` as the command line and the monitor: handlers call the
service layer, and its blocking database work runs in the App's thread pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import cache, cached_property
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from vp_monitor.accounts.principal import Principal
from vp_monitor.service.app import App
from vp_monitor.texts import Message, Texts
from vp_monitor.web.cache import SharedCache
from vp_monitor.web.call import Call, parse_body, parse_query
from vp_monitor.web.errors import ApiError, from_exception
from vp_monitor.web.keys import (
    AUTHENTICATE,
    OPERATIONS,
    PRINCIPAL,
    PRINCIPALS,
    READ_CACHE,
    ROUTES,
    VP_APP,
)
from vp_monitor.web.routes import Route, all_routes
from vp_monitor.web.settings import tile_source

log = logging.getLogger(__name__)
PRINCIPAL_CACHE_SIZE = 10_000  # tokens and sessions remembered at once
READ_CACHE_SIZE = 1_000  # answers remembered at once (scopes x filters x pages)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Authenticate = Callable[[App, web.Request], Awaitable[Principal | None]]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(
    app: App,
    routes: list[Route] | None = None,
    authenticate: Authenticate | None = None,
    monitor: Any = None,
) -> web.Application:
    """The web application over `app`: every route of the table (or `routes`), signed in by
    `authenticate` (default: session cookie or API token, vp_monitor.web.api.session);
    `monitor`: the one this process runs, whose scheduler readiness watches."""
    from vp_monitor.service.operations import Operations
    from vp_monitor.web.api.events import hub_context

    settings = app.settings.web
    web_app = web.Application(
        client_max_size=max(settings.max_body_bytes, settings.max_import_bytes),
        middlewares=[_errors_as_json, _behind_proxy],
    )
    web_app[VP_APP] = app
    web_app[ROUTES] = routes if routes is not None else all_routes()
    web_app[AUTHENTICATE] = authenticate or _default_authenticate()
    web_app[PRINCIPALS] = SharedCache(settings.principal_cache_s, PRINCIPAL_CACHE_SIZE)
    web_app[READ_CACHE] = SharedCache(settings.read_cache_s, READ_CACHE_SIZE, serve_expired=True)
    for route in web_app[ROUTES]:
        web_app.router.add_route(route.method, route.path, RouteHandler(route).handle)
    web_app[OPERATIONS] = Operations.of_app(app, monitor)
    web_app.cleanup_ctx.append(
        hub_context(app.engine, app.run_blocking, on_events=web_app[READ_CACHE].clear)
    )
    web_app.on_response_prepare.append(_security_headers)
    web_app.on_cleanup.append(_close_operations)
    from vp_monitor.web.pages.render import setup_pages

    setup_pages(web_app)
    return web_app


async def _close_operations(web_app: web.Application) -> None:
    web_app[OPERATIONS].close()


def _default_authenticate() -> Authenticate:
    from vp_monitor.web.api.session import authenticate

    return authenticate


@cache
def security_headers(map_tile_url: str) -> dict[str, str]:
    """SECURITY_HEADERS, with the map's tile server (when one is set) allowed for images only."""
    if not map_tile_url:
        return SECURITY_HEADERS
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self' data: blob:", f"img-src 'self' data: blob: {tile_source(map_tile_url)}"
    )
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors and streams included."""
    headers = security_headers(request.app[VP_APP].settings.web.map_tile_url)
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


def texts_for(request: web.Request) -> Texts:
    """The catalogue in the caller's language (the configured one before sign-in)."""
    app = request.app[VP_APP]
    principal = request.get(PRINCIPAL)
    language = principal.language if principal else app.settings.language
    return Texts(language, app.settings.timezone)


def error_response(request: web.Request, error: ApiError) -> web.Response:
    return web.json_response(
        error.body(texts_for(request)), status=error.status, headers=error.headers
    )


@web.middleware
async def _errors_as_json(request: web.Request, handler) -> web.StreamResponse:
    """Every failure as a JSON error: a route's own, aiohttp's (unknown address, method, body
    too large) and bugs (500 with a reference to the log line, nothing else)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404 and request.method == "GET" and not request.path.startswith("/api/"):
            return await _not_found_page(request)
        return error_response(request, _http_error(request, exc))
    except asyncio.CancelledError:
        raise
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("request %s %s failed (reference %s)", request.method, request.path, ref)
        return error_response(request, ApiError(500, "web.internal", ref=ref))


async def _not_found_page(request: web.Request) -> web.Response:
    """An unknown page address: the not-found page a page's missing object gets, for the
    caller signed in (its header and words), so the two cannot be told apart."""
    from vp_monitor.web.pages.render import error_page

    request[PRINCIPAL] = await request.app[AUTHENTICATE](request.app[VP_APP], request, True)
    return error_page(request, ApiError(404, "web.not_found"))


@web.middleware
async def _behind_proxy(request: web.Request, handler) -> web.StreamResponse:
    """Behind a trusted reverse proxy, the scheme and client address it forwards: cookies are
    `Secure` over HTTPS, and sign-in throttling counts the real client, not the proxy."""
    if request.remote in request.app[VP_APP].settings.web.trusted_proxies:
        changes = {}
        scheme = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        if scheme in ("http", "https"):
            changes["scheme"] = scheme
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            changes["remote"] = forwarded[:64]
        if changes:
            request = request.clone(**changes)
    return await handler(request)


def _http_error(request: web.Request, exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return ApiError(404, "web.no_route", path=request.path[:200])
    if exc.status == 405:
        allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
        return ApiError(405, "web.method_not_allowed", headers={"Allow": allowed},
                        method=request.method, allowed=allowed)  # fmt: skip
    if exc.status == 413:
        return ApiError(
            413, "web.body_too_large", limit=request.app[VP_APP].settings.web.max_body_bytes
        )
    return ApiError(exc.status, Message("lines", lines=[exc.reason]))


class RouteHandler:
    """One route of the table as an aiohttp handler: sign-in, role, input, time limit,
    output checked against the route's response model."""

    def __init__(self, route: Route):
        self.route = route

    @cached_property
    def adapter(self) -> TypeAdapter | None:
        return TypeAdapter(self.route.response) if self.route.response is not None else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route, app = self.route, request.app[VP_APP]
        try:
            principal = await request.app[AUTHENTICATE](app, request, route.is_public)
            request[PRINCIPAL] = principal
            if not route.is_public:
                if principal is None:
                    raise ApiError(401, "web.unauthenticated")
                if not route.allows(principal.role):
                    raise ApiError(403, "web.forbidden", role=principal.role)
            call = Call(request, app, principal)
            if route.query is not None:
                call.query = parse_query(request, route.query)
            elif request.query and not route.stream:
                raise ApiError(400, "web.no_parameters")
            if route.body is not None:
                call.body = await parse_body(request, route.body)
            if route.stream:
                return await route.handler(call)
            seconds = app.settings.web.request_timeout_s
            try:
                async with asyncio.timeout(seconds):
                    if route.cached:
                        return self.json_body(await self.cached(request, call))
                    result = await route.handler(call)
            except TimeoutError:
                raise ApiError(503, "web.timeout", seconds=seconds) from None
        except Exception as exc:
            caller = request.get(PRINCIPAL)
            sealed = caller is not None and not caller.scope.is_supervision
            error = from_exception(exc, app.settings.database_url, sealed)
            if error is None:
                raise
            if route.media_type == "text/html":  # a page: the browser gets a page
                from vp_monitor.web.pages.render import error_page

                return error_page(request, error)
            return error_response(request, error)
        response = self.respond(result)
        if route.method in STATE_CHANGING and response.status < 400:
            # What this process wrote is seen at once (web/cache.py): a revoked token, a
            # logout, a renamed camera.
            request.app[PRINCIPALS].clear()
            request.app[READ_CACHE].clear()
        return response

    async def cached(self, request: web.Request, call: Call) -> bytes:
        """The encoded answer, shared by every caller of the same scope asking the same."""
        principal = call.principal
        key = (self.route.operation_id, principal.role, principal.scope, principal.language,
               tuple(sorted(request.match_info.items())),
               call.query.model_dump_json() if call.query is not None else None)  # fmt: skip

        async def compute() -> bytes:
            return self.encode(await self.route.handler(call))

        return await request.app[READ_CACHE].get_or_compute(key, compute)

    def respond(self, result: Any) -> web.StreamResponse:
        if isinstance(result, web.StreamResponse):
            return result
        if self.adapter is None:
            return web.Response(status=self.route.status)
        return self.json_body(self.encode(result))

    def encode(self, result: Any) -> bytes:
        """The result checked against the route's model, as JSON."""
        try:
            body = self.adapter.dump_python(self.adapter.validate_python(result), mode="json")
        except ValidationError:  # the handler's bug, not the caller's: a 500 with a reference
            log.exception("response of %s does not fit its model", self.route.operation_id)
            raise
        return json.dumps(body).encode()

    def json_body(self, body: bytes) -> web.Response:
        return web.Response(body=body, status=self.route.status,
                            content_type="application/json", charset="utf-8")  # fmt: skip
