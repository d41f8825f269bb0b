"""Monitoring routes: a camera's state and availability, one incident (read, acknowledge,
resolve), maintenance windows; each within the caller's scope, writes audited with the
caller as actor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from two_towns import CAMERA_PASSWORD, T0, TWO_TOWNS, WEBHOOK_SECRET, jpeg

from vp_monitor.alerts.models import OutboxEvent
from vp_monitor.db import session_factory, transaction
from vp_monitor.registry.models import AuditEntry, Contact

pytestmark = pytest.mark.timeout(60)
BB_INCIDENT = TWO_TOWNS["boulogne"]["incident"]
VE_INCIDENT = TWO_TOWNS["versailles"]["incident"]


def as_(who: str) -> dict[str, str]:
    return {"X-Test-As": who}


def audit(vp_app, entity: str, key: str) -> list[AuditEntry]:
    with vp_app.registry() as registry:
        entries = registry.history(entity, key)
        registry.session.expunge_all()
    return entries


def no_secret(text: str) -> None:
    assert CAMERA_PASSWORD not in text and WEBHOOK_SECRET not in text


async def test_camera_state_with_labelled_conditions_and_its_incident(api):
    """A camera's state, its open conditions with French labels and severities, its latest
    metrics labelled, its open incident; another town's camera is not found, word for word as
    a missing one."""
    response = await api.get("/api/v1/cameras/bb-001/state", headers=as_("boulogne"))
    assert response.status == 200, await response.text()
    state = await response.json()
    assert (state["camera"], state["state"], state["state_label"]) == (
        "BB-001",
        "down",
        "hors service",
    )
    assert state["conditions"] == [
        {"name": "no_video", "label": "pas de vidéo", "severity": "critical"}
    ]
    assert state["metrics"] == [
        {"name": "rtsp_main_response_s", "label": "réponse RTSP principal (s)", "value": 0.2}
    ]
    assert state["incident"]["id"] == BB_INCIDENT
    assert state["incident"]["url"] == f"/api/v1/incidents/{BB_INCIDENT}"
    no_secret(await response.text())
    other = await api.get("/api/v1/cameras/BB-001/state", headers=as_("versailles"))
    missing = await api.get("/api/v1/cameras/XX-999/state", headers=as_("versailles"))
    assert (other.status, missing.status) == (404, 404)
    other_error, missing_error = (await other.json())["error"], (await missing.json())["error"]
    assert other_error == missing_error.replace("XX-999", "BB-001")
    ok = await (await api.get("/api/v1/cameras/BB-002/state", headers=as_("acme"))).json()
    assert (ok["state"], ok["conditions"], ok["incident"]) == ("ok", [], None)


async def test_availability_of_a_camera_and_of_the_scope(api):
    """Availability over a window for one camera and for the caller's scope only (a window
    that ends before it starts has no figures); a time that is not ISO 8601 with an offset or
    an unknown parameter is a 422 naming the field."""
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
    one = await api.get(
        "/api/v1/cameras/BB-001/availability", params=window, headers=as_("boulogne")
    )
    assert one.status == 200, await one.text()
    body = await one.json()
    assert [(r["camera"], r["availability_pct"]) for r in body["items"]] == [("BB-001", 0.0)]
    assert body["items"][0]["from"].startswith("2026-11-23T10:00:00")
    assert "from" in body and "to" in body
    scope = await (
        await api.get("/api/v1/availability", params=window, headers=as_("boulogne"))
    ).json()
    assert {r["camera"] for r in scope["items"]} == {"BB-001", "BB-002"}
    every = await (await api.get("/api/v1/availability", headers=as_("operator"))).json()
    assert {r["camera"] for r in every["items"]} == {"BB-001", "BB-002", "VE-001", "VE-002"}
    other = await api.get("/api/v1/cameras/VE-001/availability", headers=as_("boulogne"))
    assert other.status == 404
    backwards = {"from": window["to"], "to": window["from"]}
    empty = await (await api.get("/api/v1/availability", params=backwards,
                                 headers=as_("boulogne"))).json()  # fmt: skip
    assert [r["availability_pct"] for r in empty["items"]] == [None, None]  # nothing measured
    for params, field in (
        ({"to": "0.5"}, "to"),
        ({"from": "2026-11-23T10:00:00"}, "from"),
        ({"camera": "BB-001"}, "camera"),
        ({"start": T0.isoformat()}, "start"),
    ):
        refused = await api.get("/api/v1/availability", params=params, headers=as_("operator"))
        assert refused.status == 422, params
        assert (await refused.json())["field"] == field, await refused.text()


async def test_incident_detail_masks_recipients_and_links_its_evidence(api, vp_app):
    """An incident's detail holds its labelled conditions, the notifications sent with their
    recipients masked, and its evidence as an address serving the JPEG; another town's
    incident and evidence are not found."""
    with transaction(session_factory(vp_app.engine)) as session:
        from sqlalchemy import select

        contact = session.scalar(
            select(Contact).where(Contact.name == TWO_TOWNS["boulogne"]["contact"])
        )
        session.add(
            OutboxEvent(
                contact_id=contact.id,
                incident_id=BB_INCIDENT,
                payload={"event": "opened"},
                created_at=T0,
            )
        )
    response = await api.get(f"/api/v1/incidents/{BB_INCIDENT[:8]}", headers=as_("boulogne"))
    assert response.status == 200, await response.text()
    incident = await response.json()
    assert incident["id"] == BB_INCIDENT and incident["camera"] == "BB-001"
    assert incident["conditions"][0]["label"] == "pas de vidéo"
    assert incident["evidence"] == f"/api/v1/incidents/{BB_INCIDENT}/evidence"
    [sent] = incident["notifications"]
    assert (sent["event"], sent["channel"], sent["status"]) == ("opened", "webhook", "pending")
    assert sent["recipient"] == "https://hooks.example.org/…?key=********"
    assert "evidence_jpeg" not in incident
    no_secret(await response.text())
    evidence = await api.get(incident["evidence"], headers=as_("boulogne"))
    assert evidence.status == 200 and evidence.content_type == "image/jpeg"
    assert (await evidence.read())[:2] == b"\xff\xd8"
    for path in (f"/api/v1/incidents/{BB_INCIDENT}", f"/api/v1/incidents/{BB_INCIDENT}/evidence"):
        assert (await api.get(path, headers=as_("versailles"))).status == 404


async def test_a_cameras_thumbnail_is_its_latest_checked_picture(api):
    """The wall's tile picture: the latest picture a check decoded, else the day reference in
    force; within the caller's scope; `seen` only passes a browser's cache."""
    checked, unchecked = reversed(TWO_TOWNS["boulogne"]["cameras"])
    for code, expected in ((checked, jpeg(200)), (unchecked, jpeg(120))):
        for query in ("", "?seen=1733140000000"):
            response = await api.get(f"/api/v1/cameras/{code}/thumbnail{query}",
                                     headers=as_("boulogne"))  # fmt: skip
            assert response.status == 200 and response.content_type == "image/jpeg"
            assert await response.read() == expected
        other = await api.get(f"/api/v1/cameras/{code}/thumbnail", headers=as_("versailles"))
        assert other.status == 404
    response = await api.get(f"/api/v1/cameras/{checked}/thumbnail?seen=later",
                             headers=as_("boulogne"))  # fmt: skip
    assert response.status == 422 and (await response.json())["field"] == "seen"


async def test_acknowledge_own_incident_audited_once(api, vp_app):
    """A municipality acknowledges its own incident with a note: acknowledged, audited with
    its name; again, nothing changes; another town's is not found and stays open; an unknown
    field or an overlong note is a 422 naming it."""
    path = f"/api/v1/incidents/{BB_INCIDENT}/acknowledge"
    refused = await api.post(path, json={"note": "x" * 2001}, headers=as_("boulogne"))
    assert (refused.status, (await refused.json())["field"]) == (422, "note")
    unknown = await api.post(path, json={"nope": 1}, headers=as_("boulogne"))
    assert (unknown.status, (await unknown.json())["field"]) == (422, "nope")
    done = await api.post(path, json={"note": "patrouille envoyée"}, headers=as_("boulogne"))
    assert done.status == 200, await done.text()
    assert await done.json() == {
        "incident": BB_INCIDENT,
        "status_before": "open",
        "status": "acknowledged",
        "by": "bb.mairie",
        "changed": True,
    }
    again = await (await api.post(path, json={}, headers=as_("operator"))).json()
    assert (again["changed"], again["status"]) == (False, "acknowledged")
    [entry] = audit(vp_app, "incident", BB_INCIDENT)
    assert (entry.actor, entry.action, entry.after["note"]) == (
        "bb.mairie",
        "acknowledge",
        "patrouille envoyée",
    )
    detail = await (
        await api.get(f"/api/v1/incidents/{BB_INCIDENT}", headers=as_("boulogne"))
    ).json()
    assert (detail["acknowledged_by"], detail["acknowledgement_note"]) == (
        "bb.mairie",
        "patrouille envoyée",
    )
    other = await api.post(
        f"/api/v1/incidents/{VE_INCIDENT}/acknowledge", json={}, headers=as_("boulogne")
    )
    assert other.status == 404
    ve = await (await api.get(f"/api/v1/incidents/{VE_INCIDENT}", headers=as_("operator"))).json()
    assert ve["status"] == "open" and audit(vp_app, "incident", VE_INCIDENT) == []


async def test_resolve_by_hand_is_for_operators_and_keeps_the_note(api, vp_app):
    """An operator resolves an incident with a note: resolved, its note and author shown with
    it and in the audit trail; resolving again changes nothing; a municipality may not."""
    path = f"/api/v1/incidents/{BB_INCIDENT}/resolve"
    forbidden = await api.post(path, json={"note": "x"}, headers=as_("boulogne"))
    assert forbidden.status == 403
    done = await api.post(path, json={"note": "caméra remplacée"}, headers=as_("operator"))
    assert done.status == 200, await done.text()
    assert (await done.json())["status_before"] == "open"
    detail = await (
        await api.get(f"/api/v1/incidents/{BB_INCIDENT}", headers=as_("boulogne"))
    ).json()
    assert detail["status"] == "resolved" and detail["resolved_at"] is not None
    assert (detail["resolved_by"], detail["resolution_note"]) == ("olga.op", "caméra remplacée")
    again = await (await api.post(path, json={}, headers=as_("admin"))).json()
    assert (again["changed"], again["status_before"]) == (False, "resolved")
    [entry] = audit(vp_app, "incident", BB_INCIDENT)
    assert (entry.actor, entry.action, entry.before, entry.after) == (
        "olga.op",
        "resolve",
        {"status": "open"},
        {"status": "resolved", "note": "caméra remplacée"},
    )
    state = await (await api.get("/api/v1/cameras/BB-001/state", headers=as_("operator"))).json()
    assert state["incident"] is None


async def test_maintenance_windows_planned_listed_and_removed_within_scope(api, vp_app):
    """Maintenance windows: a municipality lists and reads only its own; an operator plans one
    (201, audited with its name) and removes it (204); a municipality may not write; another
    town's window, or an id that is no number, is not found; a window ending before it starts
    is a 422 naming its fields."""
    own = await (await api.get("/api/v1/maintenance", headers=as_("boulogne"))).json()
    assert [w["camera"] for w in own["items"]] == ["BB-001"] and own["total"] == 1
    everyone = await (await api.get("/api/v1/maintenance", headers=as_("operator"))).json()
    ve_window = next(w["id"] for w in everyone["items"] if w["camera"] == "VE-001")
    assert (
        await api.get(f"/api/v1/maintenance/{ve_window}", headers=as_("boulogne"))
    ).status == 404
    window = {
        "scope": "camera",
        "target": "BB-002",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(hours=2)).isoformat(),
        "reason": "élagage",
    }
    assert (
        await api.post("/api/v1/maintenance", json=window, headers=as_("boulogne"))
    ).status == 403
    backwards = {**window, "ends_at": T0.isoformat()}
    refused = await api.post("/api/v1/maintenance", json=backwards, headers=as_("operator"))
    assert (refused.status, (await refused.json())["field"]) == (422, "starts_at, ends_at")
    unknown = await api.post(
        "/api/v1/maintenance", json={**window, "target": "XX-9"}, headers=as_("operator")
    )
    assert unknown.status == 404
    planned = await api.post("/api/v1/maintenance", json=window, headers=as_("operator"))
    assert planned.status == 201, await planned.text()
    created = await planned.json()
    assert (created["camera"], created["planned_by"], created["insee"]) == (
        "BB-002",
        "olga.op",
        "92012",
    )
    [entry] = audit(vp_app, "maintenance", str(created["id"]))
    assert (entry.actor, entry.action) == ("olga.op", "create")
    read = await api.get(f"/api/v1/maintenance/{created['id']}", headers=as_("boulogne"))
    assert (await read.json())["reason"] == "élagage"
    listed = await (
        await api.get("/api/v1/maintenance", params={"camera": "BB-002"}, headers=as_("boulogne"))
    ).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    for path in (
        "/api/v1/maintenance/abc",
        "/api/v1/maintenance/99999999999999",
        f"/api/v1/maintenance/{ve_window}",
    ):
        assert (await api.delete(path, headers=as_("boulogne"))).status in (403,)
        assert (await api.get(path, headers=as_("boulogne"))).status == 404, path
    removed = await api.delete(f"/api/v1/maintenance/{created['id']}", headers=as_("operator"))
    assert removed.status == 204
    assert (
        await api.get(f"/api/v1/maintenance/{created['id']}", headers=as_("operator"))
    ).status == 404
    assert [e.action for e in audit(vp_app, "maintenance", str(created["id"]))] == [
        "create",
        "delete",
    ]
    gone = await api.delete("/api/v1/maintenance/99999999999999", headers=as_("operator"))
    assert gone.status == 404


async def test_labels_follow_the_callers_language(vp_app):
    """An English-speaking account reads states, conditions and metrics in English."""
    from aiohttp.test_utils import TestClient, TestServer

    from vp_monitor.accounts.principal import Principal
    from vp_monitor.web.app import create_app

    async def english_operator(app, request, public=False):
        return Principal("eve.op", "operator", language="en")

    client = TestClient(TestServer(create_app(vp_app, authenticate=english_operator)))
    await client.start_server()
    try:
        state = await (await client.get("/api/v1/cameras/BB-001/state")).json()
        incident = await (await client.get(f"/api/v1/incidents/{BB_INCIDENT}")).json()
    finally:
        await client.close()
    assert (state["state_label"], state["conditions"][0]["label"]) == ("down", "no video")
    assert state["metrics"][0]["label"] == "RTSP main answer (s)"
    assert incident["conditions"][0]["label"] == "no video"
