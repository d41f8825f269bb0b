"""`/metrics`, `/healthz` and `/readyz`: plain aiohttp handlers, no route of their own here.

They read one application key, `OPERATIONS` (a `service.operations.Operations`), which the
application sets up:

    application[OPERATIONS] = Operations.of_app(app, monitor)   # monitor: None for --role web

and closes at cleanup (`application[OPERATIONS].close()`). `/readyz` words its reasons in the
caller's language when a principal is on the request, else in the configured one.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from vp_monitor.service.operations import Operations
from vp_monitor.texts import Texts

OPERATIONS = web.AppKey("operations", Operations)
NOT_CACHED = {"Cache-Control": "no-store"}
# The text format every Prometheus version reads (our names need none of 1.0.0's escaping).
EXPOSITION_TYPE = CONTENT_TYPE_PLAIN_0_0_4


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus exposition: this process's counters and the fleet figures."""
    body = await request.app[OPERATIONS].scrape()
    return web.Response(body=body, headers={"Content-Type": EXPOSITION_TYPE, **NOT_CACHED})


async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    texts = _texts(request)
    return web.json_response({"status": "up", "text": texts("health.up")}, headers=NOT_CACHED)


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers and, in a process running the monitor, the scheduler
    and the decoder pool work; 503 with the reasons otherwise."""
    ready, reasons = await request.app[OPERATIONS].readiness(_texts(request))
    if ready:
        body = {"ready": True, "text": _texts(request)("ready.ok"), "reasons": []}
        return web.json_response(body, headers=NOT_CACHED)
    body = {"ready": False, "error": "; ".join(reasons), "reasons": reasons}
    return web.json_response(body, status=503, headers=NOT_CACHED)


def _texts(request: web.Request) -> Texts:
    texts = request.app[OPERATIONS].texts
    principal = request.get("principal")
    language = getattr(principal, "language", None)
    if language and language != texts.language:
        return Texts(language, texts.zone.key)
    return texts
