"""/metrics, /healthz and /readyz served by the web application, with their roles."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vp_monitor.db import make_engine
from vp_monitor.web.keys import OPERATIONS

pytestmark = pytest.mark.timeout(60)


async def test_metrics_health_and_readiness(api, tmp_path):
    """/metrics in the Prometheus text format for the supervision centre (every
    municipality's figures: not for a municipality); /healthz 200 for anyone; /readyz 200,
    then 503 with the reason once the database is away."""
    response = await api.get("/metrics", headers={"X-Test-As": "operator"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    cameras = {
        (s.labels["municipality"], s.labels["state"]): s.value
        for s in families["vp_cameras"].samples
    }
    assert cameras[("92012", "down")] == 1 and cameras[("78646", "ok")] == 1
    assert (await api.get("/metrics", headers={"X-Test-As": "boulogne"})).status == 403
    assert (await api.get("/metrics")).status == 401
    assert (await api.get("/healthz")).status == 200
    response = await api.get("/readyz")
    assert response.status == 200 and (await response.json())["ready"] is True
    api.app[OPERATIONS].engine = make_engine(f"sqlite:///{tmp_path}/missing/vp-monitor.db")
    response = await api.get("/readyz")
    body = await response.json()
    assert response.status == 503 and body["ready"] is False
    assert body["reasons"] == ["base de données injoignable (OperationalError)"]


async def test_nodes_are_listed_as_the_command_lists_them(api, vp_app):
    """GET /api/v1/nodes: each serve node's heartbeat row with its status, the same records
    as `vp-monitor nodes --json`; for the supervision centre's roles only."""
    import json
    from datetime import timedelta

    from click.testing import CliRunner

    from vp_monitor.cli import main
    from vp_monitor.db import session_factory, transaction, utcnow
    from vp_monitor.monitor.nodes import Heartbeat, Node

    factory = session_factory(vp_app.engine)
    Heartbeat(factory, "node-a", "all").beat()
    Heartbeat(factory, "node-old", "poller").beat()
    with transaction(factory) as session:
        session.get(Node, "node-old").last_seen_at = utcnow() - timedelta(hours=2)
    response = await api.get("/api/v1/nodes", headers={"X-Test-As": "operator"})
    assert response.status == 200
    served = await response.json()
    assert [(n["id"], n["role"], n["status"]) for n in served] == [
        ("node-a", "all", "live"), ("node-old", "poller", "stale")]  # fmt: skip
    url = vp_app.settings.database_url
    printed = CliRunner().invoke(main, ["--database-url", url, "nodes", "--json"]).output
    as_printed = {n["id"]: {k: v for k, v in n.items() if k != "seen_ago_s"}
                  for n in json.loads(printed)}  # fmt: skip
    assert {n["id"]: {k: v for k, v in n.items() if k != "seen_ago_s"} for n in served} == (
        as_printed
    )
    for caller in ("boulogne", "acme"):
        assert (await api.get("/api/v1/nodes", headers={"X-Test-As": caller})).status == 403
