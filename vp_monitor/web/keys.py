"""Typed keys of what the web application and each request carry (aiohttp AppKey/RequestKey)."""

from __future__ import annotations

from aiohttp import web

from vp_monitor.events.hub import EventHub
from vp_monitor.service.app import App
from vp_monitor.service.operations import Operations
from vp_monitor.web.cache import SharedCache

VP_APP = web.AppKey("vp_app", App)  # the service application every handler calls
ROUTES = web.AppKey("routes", list)  # the route table the application serves
AUTHENTICATE = web.AppKey("authenticate", object)  # (App, request) -> Principal | None
PRINCIPAL = web.RequestKey("principal", object)  # the caller, None before sign-in
CSRF_TOKEN = web.RequestKey("csrf_token", str)  # the session's, when signed in by cookie
OPERATIONS = web.AppKey("operations", Operations)  # metrics and readiness of this process
EVENT_HUB = web.AppKey("event_hub", EventHub)  # this process's live events, fanned out
PRINCIPALS = web.AppKey("principals", SharedCache)  # callers of recent tokens and cookies
READ_CACHE = web.AppKey("read_cache", SharedCache)  # encoded answers of the busiest reads
