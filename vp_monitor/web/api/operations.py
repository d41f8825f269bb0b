"""`/metrics`, `/healthz` and `/readyz`: what Prometheus, a load balancer and a supervisor
ask of one process; `/api/v1/nodes`: the serve nodes sharing the database (`vp-monitor
nodes`). The first three answer from `service.operations.Operations`, which the application
holds under `OPERATIONS` (web/keys.py) with the monitor this process runs, if any.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from pydantic import BaseModel

from vp_monitor.web.app import texts_for
from vp_monitor.web.call import Call
from vp_monitor.web.keys import OPERATIONS
from vp_monitor.web.routes import OPERATORS, PUBLIC, Route

NOT_CACHED = {"Cache-Control": "no-store"}
# The text format every Prometheus version reads (our names need none of 1.0.0's escaping).
EXPOSITION_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Health(BaseModel):
    status: str  # "up"
    text: str


class Readiness(BaseModel):
    ready: bool
    text: str | None = None
    error: str | None = None
    reasons: list[str]


class NodeOut(BaseModel):
    """One serve node's heartbeat row, as `vp-monitor nodes --json` prints it."""

    id: str
    host: str
    pid: int
    version: str
    role: str
    status: Literal["live", "stale"]
    started_at: str
    last_seen_at: str
    seen_ago_s: float
    checks_per_minute: float


async def list_nodes(call: Call) -> list[NodeOut]:
    """The nodes sharing this database, oldest first: live, or stale when not seen lately."""
    from vp_monitor.db import utcnow
    from vp_monitor.monitor.nodes import node_records

    stale_s = call.app.settings.monitor.node_stale_s
    records = await call.app.in_registry(
        lambda registry: node_records(registry.session, utcnow(), stale_s)
    )
    return [NodeOut(**record) for record in records]


async def metrics(call: Call) -> web.Response:
    """The Prometheus exposition: this process's counters and the fleet figures (every
    municipality's: the supervision centre's roles only)."""
    body = await call.request.app[OPERATIONS].scrape()
    return web.Response(body=body, headers={"Content-Type": EXPOSITION_TYPE, **NOT_CACHED})


async def healthz(call: Call) -> Health:
    """The process is up and its event loop answers."""
    return Health(status="up", text=texts_for(call.request)("health.up"))


async def readyz(call: Call) -> Readiness | web.Response:
    """200 when the database answers and, in a process running the monitor, the scheduler
    and the decoder pool work; 503 with the reasons otherwise."""
    texts = texts_for(call.request)
    ready, reasons = await call.request.app[OPERATIONS].readiness(texts)
    if ready:
        return Readiness(ready=True, text=texts("ready.ok"), reasons=[])
    body = Readiness(ready=False, error="; ".join(reasons), reasons=reasons)
    return web.json_response(body.model_dump(), status=503, headers=NOT_CACHED)


ROUTES = [
    Route("GET", "/api/v1/nodes", list_nodes, OPERATORS,
          "The serve nodes sharing the database: live, or stale when not seen lately",
          response=list[NodeOut], tags=("operations",)),
    Route("GET", "/metrics", metrics, OPERATORS, "Prometheus metrics (text format 0.0.4)",
          media_type=EXPOSITION_TYPE, tags=("operations",)),
    Route("GET", "/healthz", healthz, PUBLIC, "The process is up", response=Health,
          tags=("operations",)),
    Route("GET", "/readyz", readyz, PUBLIC, "Ready to work (database, scheduler, decoders), "
          "or 503 with the reasons", response=Readiness, tags=("operations",)),
]  # fmt: skip
