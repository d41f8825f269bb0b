"""Typed keys of what the web application and each request carry (aiohttp AppKey/RequestKey)."""

from __future__ import annotations

from aiohttp import web

from vp_monitor.service.app import App

VP_APP = web.AppKey("vp_app", App)  # the service application every handler calls
ROUTES = web.AppKey("routes", list)  # the route table the application serves
AUTHENTICATE = web.AppKey("authenticate", object)  # (App, request) -> Principal | None
PRINCIPAL = web.RequestKey("principal", object)  # the caller, None before sign-in
CSRF_TOKEN = web.RequestKey("csrf_token", str)  # the session's, when signed in by cookie
