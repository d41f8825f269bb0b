"""Pages rendered on the server: Jinja2 templates through aiohttp-jinja2, the words in the
caller's language, and the error page a browser gets instead of the API's JSON.

Templates hold no inline script or style (the Content-Security-Policy forbids them): the
scripts and style sheets are files served by the `/static/{name}` route (web/assets.py).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from vp_monitor.web.errors import ApiError
from vp_monitor.web.pages.words import STATE_ICONS, Words

TEMPLATES = "templates"
# The images pages show, served by the monitoring API (by camera code or incident id only).
# The wall's thumbnails are the references: the latest frame is a live capture (camera page).
IMAGE_URLS = {
    "reference": "/api/v1/cameras/{code}/references/{kind}",
    "latest": "/api/v1/cameras/{code}/frame",
    "thumbnail": "/api/v1/cameras/{code}/thumbnail",
    "evidence": "/api/v1/incidents/{id}/evidence",
}
EVENTS_URL = "/api/v1/events"
SESSION_URL = "/api/v1/session"


def setup_pages(web_app: web.Application) -> None:
    """The template environment of the web application (called by create_app)."""
    aiohttp_jinja2.setup(
        web_app,
        loader=jinja2.PackageLoader("vp_monitor.web", TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def image_url(image: str, **values: str) -> str:
    return IMAGE_URLS[image].format(**{k: quote(str(v), safe="") for k, v in values.items()})


def words_for(request: web.Request) -> Words:
    from vp_monitor.web.app import texts_for

    return Words(texts_for(request))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """`template` with the page's common values (caller, words, CSRF token, URLs)."""
    from vp_monitor.web.keys import CSRF_TOKEN, PRINCIPAL

    words = words_for(request)
    principal = request.get(PRINCIPAL)
    values = {
        "w": words,
        "texts": words.texts,
        "principal": principal,
        "csrf_token": request.get(CSRF_TOKEN) or "",
        "browser_words": json.dumps(words.browser_words(), ensure_ascii=False),
        "icons": STATE_ICONS,
        "image_url": image_url,
        "events_url": EVENTS_URL,
        "session_url": SESSION_URL,
        "path": request.path,
        **context,
    }
    text = aiohttp_jinja2.render_string(template, request, values)
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"  # a page shows what the caller may see
    return response


def error_page(request: web.Request, error: ApiError) -> web.Response:
    """A page's error as a browser reads it: sign-in first when not signed in, else the
    message in a page (an object outside the caller's scope is "not found", as in the API)."""
    if error.status == 401:
        target = request.path_qs if request.method == "GET" else "/"
        location = f"/login?next={quote(target, safe='')}"
        return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
    words = words_for(request)
    if error.status == 404:  # one page for every "not found": it tells nothing of what exists
        return render(request, "error.html", status=404, status_code=404, path="",
                      message=words("error.not_found", path=request.path))  # fmt: skip
    message = error.message.render(words.texts)
    return render(request, "error.html", status=error.status, status_code=error.status,
                  message=message)  # fmt: skip
