"""Operators' commands: `status`, `incident list|show|ack`, `availability`, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from vp_monitor.alerts.models import Incident, OutboxEvent
from vp_monitor.cli import main
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.availability import availability
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.registry.models import Camera, Contact, Municipality, Site

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def fleet(engine):
    """Two towns with one camera each: BB-001 down with an open incident, VE-001 ok."""
    with transaction(session_factory(engine)) as session:
        boulogne = Municipality(insee="92012", name="Boulogne-Billancourt", departement="92")
        versailles = Municipality(insee="78646", name="Versailles", departement="78")
        session.add(Contact(name="CSU", channel="email", address="csu@example.org"))
        cameras = []
        for town, code in ((boulogne, "BB-001"), (versailles, "VE-001")):
            site = Site(name=f"Mairie {town.name}", municipality=town, uplink=f"UP-{code}")
            cameras.append(Camera(code=code, name=code, site=site, municipality=town))
        session.add_all(cameras)
        session.flush()
        down, ok = cameras
        session.add(CameraStatus(camera_id=down.id, state="down", conditions=["no_video"],
                                 since=T0))  # fmt: skip
        session.add(CameraStatus(camera_id=ok.id, state="ok", conditions=[], since=T0))
        session.add(Incident(id="0d5c1e2a-0000-4000-8000-000000000001", kind="camera",
                             camera_id=down.id, site_id=down.site_id, severity="critical",
                             conditions=["no_video"], opened_at=T0,
                             evidence_jpeg=b"\xff\xd8jpeg\xff\xd9"))  # fmt: skip
    return engine


@pytest.fixture
def cli(database_url, secret_key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--database-url", database_url, "--actor", "op.martin",
                                      *args])  # fmt: skip
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def test_status_wall_worst_first_and_per_municipality(fleet, cli):
    code, out, _ = cli("status", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["camera"], r["state"]) for r in rows] == [("BB-001", "down"), ("VE-001", "ok")]
    _, out, _ = cli("status", "--json", "--municipality", "78646")
    assert [r["camera"] for r in json.loads(out)] == ["VE-001"]
    _, out, _ = cli("status", "--json", "--problems")
    assert [r["camera"] for r in json.loads(out)] == ["BB-001"]


def test_incident_list_is_scoped_to_a_municipality(fleet, cli):
    with transaction(session_factory(fleet)) as session:
        site = session.scalars(select(Site).where(Site.name == "Mairie Versailles")).one()
        session.add(Incident(id="5173-0000", kind="site", site_id=site.id, severity="critical",
                             conditions=["site_down"], opened_at=T0))  # fmt: skip
    _, out, _ = cli("incident", "list", "--json", "--municipality", "92012")
    rows = json.loads(out)
    assert [(r["camera"], r["severity"], r["status"]) for r in rows] == [
        ("BB-001", "critical", "open")
    ]
    _, out, _ = cli("incident", "list", "--json", "--municipality", "78646")
    assert [(r["kind"], r["site"]) for r in json.loads(out)] == [("site", "Mairie Versailles")]
    _, out, _ = cli("incident", "list", "--json")
    assert len(json.loads(out)) == 2


def test_ack_by_prefix_records_who_and_tells_recipients(fleet, cli, tmp_path):
    code, out, err = cli("incident", "ack", "0d5c1e2a", "--note", "technicien envoyé")
    assert code == 0, err
    assert "pris en compte par op.martin" in out
    with session_factory(fleet)() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.status, incident.acknowledged_by) == ("acknowledged", "op.martin")
        assert incident.acknowledgement_note == "technicien envoyé"
        told = [row.payload["event"] for row in session.scalars(select(OutboxEvent))]
    assert told == ["acknowledged"]
    code, out, _ = cli("incident", "ack", "0d5c1e2a")
    assert code == 0 and "rien à prendre en compte" in out
    code, out, _ = cli("incident", "show", "0d5c", "--json", "--evidence",
                       str(tmp_path / "e.jpg"))  # fmt: skip
    assert json.loads(out)["acknowledged_by"] == "op.martin"
    assert (tmp_path / "e.jpg").read_bytes() == b"\xff\xd8jpeg\xff\xd9"


def test_resolve_by_hand_tells_and_audits_the_note(fleet, cli):
    """`incident resolve` closes the incident at once, tells whoever heard of it, keeps the
    note in the audit trail with the actor; a second time it says there is nothing to do."""
    from vp_monitor.registry.models import AuditEntry

    assert cli("incident", "ack", "0d5c1e2a")[0] == 0
    code, out, err = cli("incident", "resolve", "0d5c", "--note", "câble remplacé")
    assert code == 0, err
    assert "résolu par op.martin" in out
    with session_factory(fleet)() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.status == "resolved" and incident.resolved_at is not None
        told = [row.payload["event"] for row in session.scalars(select(OutboxEvent))]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "resolve")).one()
    assert told == ["acknowledged", "resolved"]
    assert (entry.actor, entry.entity_key, entry.after["note"]) == (
        "op.martin", incident.id, "câble remplacé")  # fmt: skip
    code, out, _ = cli("incident", "resolve", "0d5c")
    assert code == 0 and "déjà résolu" in out


def test_unknown_incident_is_exit_code_2(fleet, cli):
    code, _, err = cli("incident", "ack", "ffff")
    assert code == 2 and "aucun incident n'a cet id" in err


def _history(engine, code, *points):
    """Check records (minutes after T0, state, in maintenance) for one camera."""
    with transaction(session_factory(engine)) as session:
        camera_id = session.scalars(select(Camera.id).where(Camera.code == code)).one()
        for minutes, state, in_maintenance in points:
            at, detail = T0 + timedelta(minutes=minutes), {"in_maintenance": in_maintenance}
            session.add(CheckRecord(camera_id=camera_id, tier="reachability", at=at,
                                    state=state, duration_s=0.1, detail=detail))  # fmt: skip
    return camera_id


def test_availability_weighs_time_and_leaves_maintenance_out(fleet):
    down = _history(fleet, "BB-001", (-30, "ok", False), (60, "down", False),
                    (120, "down", True), (180, "ok", False), (300, "down", False))  # fmt: skip
    late = _history(fleet, "VE-001", (120, "ok", False))
    with session_factory(fleet)() as session:
        found = availability(session, T0, T0 + timedelta(hours=4))
    hour = 3600.0
    assert (found[down].up_s, found[down].down_s, found[down].maintenance_s) == (
        2 * hour, hour, hour)  # fmt: skip
    assert found[down].ratio == pytest.approx(2 / 3)
    assert (found[late].up_s, found[late].ratio) == (2 * hour, 1.0)


def test_availability_command_per_municipality(fleet, cli):
    _history(fleet, "BB-001", (0, "ok", False), (90, "down", False))
    start, end = T0.isoformat(), (T0 + timedelta(hours=2)).isoformat()
    code, out, err = cli("availability", "--from", start, "--to", end, "--json")
    assert code == 0, err
    rows = {r["camera"]: r for r in json.loads(out)}
    assert rows["BB-001"]["availability_pct"] == 75.0 and rows["BB-001"]["down_min"] == 30.0
    assert rows["VE-001"]["availability_pct"] is None  # never checked in the period
    _, out, _ = cli("availability", "--from", start, "--to", end, "--municipality", "78646",
                    "--json")  # fmt: skip
    assert [r["camera"] for r in json.loads(out)] == ["VE-001"]
    code, _, err = cli("availability", "--from", end, "--to", start)
    assert code == 2 and "before" in err


def test_report_command_prints_a_towns_day(fleet, cli):
    """`report` prints the day's report of one town (text, French; JSON), or says what is
    wrong with its options."""
    code, out, _ = cli("report", "--day", "2026-11-23", "--municipality", "92012")
    assert code == 0
    assert out.startswith("[vp-monitor] Rapport quotidien du 23/11/2026 — Boulogne-Billancourt")
    assert "BB-001" in out and "VE-001" not in out
    _, out, _ = cli("report", "--day", "2026-11-23", "--json", "--language", "en")
    report = json.loads(out)
    assert report["scope"] == {"kind": "all", "name": ""} and report["incidents"]["opened"] == 1
    code, _, err = cli("report", "--day", "23/11/2026")
    assert code == 2 and "not a day" in err
    code, _, err = cli("report", "--maintainer", "Nobody")
    assert code != 0 and "mainteneur inconnu" in err


def test_contact_update_sets_digest_and_reports(fleet, cli):
    """A contact switched to digests and reports shows it; an unknown id is an error."""
    code, out, _ = cli("contact", "update", "1", "--digest", "--reports", "--min-severity", "major")
    assert code == 0
    _, out, _ = cli("contact", "list", "--json")
    [row] = json.loads(out)
    assert (row["digest"], row["reports"], row["min_severity"]) == (True, True, "major")
    cli("contact", "update", "1", "--no-digest")
    _, out, _ = cli("contact", "list", "--json")
    assert json.loads(out)[0]["digest"] is False and json.loads(out)[0]["reports"] is True
    code, _, err = cli("contact", "update", "99", "--digest")
    assert code != 0 and "contact inconnu 99" in err


def test_status_wall_speaks_french_in_paris_time(fleet, cli, monkeypatch):
    """The wall shows states, faults and headers in the configured language, times in the
    display time zone to the second; --json keeps ISO 8601 with the offset."""
    code, out, _ = cli("status")
    assert code == 0
    assert "hors service" in out and "pas de vidéo" in out and "état" in out
    assert "23/11/2026 11:00:00" in out  # 10:00 UTC is 11:00 in Paris in November
    assert "+00:00" not in out and "down" not in out
    _, out, _ = cli("status", "--json")
    assert json.loads(out)[0]["since"] == "2026-11-23T10:00:00+00:00"
    monkeypatch.setenv("VP_LANGUAGE", "en")
    monkeypatch.setenv("VP_TIMEZONE", "America/New_York")
    _, out, _ = cli("status")
    assert "down" in out and "no video" in out and "2026-11-23 05:00:00" in out


def test_status_problems_without_problem_is_a_sentence(fleet, cli, monkeypatch):
    """No camera in trouble: a sentence, not an empty table (and [] for scripts)."""
    code, out, _ = cli("status", "--problems", "--municipality", "78646")
    assert code == 0 and out.strip().startswith("Aucune caméra en défaut")
    assert json.loads(cli("status", "--problems", "--municipality", "78646", "--json")[1]) == []
    monkeypatch.setenv("VP_LANGUAGE", "en")
    assert "No camera has a problem" in cli("status", "--problems", "--municipality", "78646")[1]


def test_status_and_incident_list_show_who_acknowledged(fleet, cli):
    """Once acknowledged, the wall and the incident list say so and by whom."""
    assert cli("incident", "ack", "0d5c")[0] == 0
    for command in (("status",), ("incident", "list")):
        _, out, _ = cli(*command)
        assert "pris en compte" in out and "op.martin" in out, command
    [row] = [r for r in json.loads(cli("status", "--json")[1]) if r["camera"] == "BB-001"]
    assert (row["incident_status"], row["acknowledged_by"]) == ("acknowledged", "op.martin")
    [row] = json.loads(cli("incident", "list", "--json")[1])
    assert row["acknowledged_by"] == "op.martin" and row["conditions"] == ["no_video"]


def test_incident_show_is_readable_with_place_metrics_and_notifications(fleet, cli):
    """`incident show`: no Python repr, the camera's name and municipality, the metrics as a
    table with plain labels, the notifications sent with the recipient masked."""
    from vp_monitor.alerts.models import Delivery

    with transaction(session_factory(fleet)) as session:
        incident = session.get(Incident, "0d5c1e2a-0000-4000-8000-000000000001")
        incident.metrics = {"mean_luma": 3.25, "onvif_clock_offset_s": 0.5}
        delivery = Delivery(contact_id=1, idempotency_key="k-1", status="sent",
                            sent_at=T0 + timedelta(minutes=1))  # fmt: skip
        session.add(delivery)
        session.flush()
        session.add(OutboxEvent(contact_id=1, incident_id=incident.id, delivery_id=delivery.id,
                                payload={"event": "opened"}, created_at=T0))  # fmt: skip
    code, out, err = cli("incident", "show", "0d5c")
    assert code == 0, err
    assert "{" not in out and "False" not in out and "None" not in out
    assert "BB-001 « BB-001 »" in out and "Boulogne-Billancourt (92012)" in out
    assert "luminosité moyenne" in out and "3,25" in out and "décalage d'horloge" in out
    assert "c***@example.org" in out and "envoyé" in out and "23/11/2026 11:01:00" in out
    assert "csu@example.org" not in out
    record = json.loads(cli("incident", "show", "0d5c", "--json")[1])
    assert record["municipality"] == "Boulogne-Billancourt" and record["metrics"]["mean_luma"]
    [sent] = record["notifications"]
    assert (sent["channel"], sent["recipient"], sent["status"]) == (
        "email", "c***@example.org", "sent")  # fmt: skip
    assert sent["sent_at"] == "2026-11-23T10:01:00+00:00"


def test_maintenance_list_names_cameras_sites_and_towns(fleet, cli):
    """Maintenance windows show the camera code, site and municipality names, local times."""
    code, _, err = cli("maintenance", "add", "--camera", "BB-001", "--start",
                       "2026-11-24T08:00+01:00", "--end", "2026-11-24T12:00+01:00")  # fmt: skip
    assert code == 0, err
    assert cli("maintenance", "add", "--municipality", "78646", "--start",
               "2026-11-25T08:00+01:00", "--end", "2026-11-25T09:00+01:00")[0] == 0  # fmt: skip
    _, out, _ = cli("maintenance", "list")
    assert "BB-001" in out and "Mairie Boulogne-Billancourt" in out and "Versailles" in out
    assert "24/11/2026 08:00:00" in out and "camera_id" not in out
    rows = json.loads(cli("maintenance", "list", "--json")[1])
    assert [(r["camera"], r["site"], r["municipality"]) for r in rows] == [
        ("BB-001", "Mairie Boulogne-Billancourt", "Boulogne-Billancourt"),
        (None, None, "Versailles"),
    ]
    assert rows[0]["starts_at"] == "2026-11-24T07:00:00+00:00"


def test_camera_history_gives_changes_as_data(fleet, cli):
    """`camera history --json` gives each change as before/after values, not one string."""
    assert cli("camera", "update", "BB-001", "--name", "Parvis")[0] == 0
    [entry] = json.loads(cli("camera", "history", "BB-001", "--json")[1])
    assert entry["changes"] == {"name": {"before": "BB-001", "after": "Parvis"}}
    _, out, _ = cli("camera", "history", "BB-001")
    assert "nom : BB-001 → Parvis" in out and "modification" in out


def test_availability_speaks_local_time(fleet, cli):
    """`availability` prints its period in the display time zone, and takes a time without an
    offset as a local (Paris) time, as people write it."""
    _history(fleet, "BB-001", (0, "ok", False), (90, "down", False))
    code, out, _ = cli("availability", "--from", "2026-11-23T11:00", "--to", "2026-11-23T13:00")
    assert code == 0
    assert "Période du 23/11/2026 11:00:00 au 23/11/2026 13:00:00 (Europe/Paris)" in out
    assert "disponibilité %" in out and "75,0" in out
    local = cli("availability", "--from", "2026-11-23T11:00", "--to", "2026-11-23T13:00",
                "--json")[1]  # fmt: skip
    utc = cli("availability", "--from", T0.isoformat(),
              "--to", (T0 + timedelta(hours=2)).isoformat(), "--json")[1]  # fmt: skip
    assert json.loads(local) == json.loads(utc)


def _records(engine, code, *points):
    """History rows as the evaluator writes them: (moment, state, confirmed conditions)."""
    from vp_monitor.monitor.availability import classify

    with transaction(session_factory(engine)) as session:
        camera_id = session.scalars(select(Camera.id).where(Camera.code == code)).one()
        for at, state, conditions in points:
            session.add(CheckRecord(
                camera_id=camera_id, tier="stream", at=at, state=state, conditions=conditions,
                availability=classify(state, conditions), duration_s=0.1,
                detail={"in_maintenance": False, "confirmed": conditions},
            ))  # fmt: skip


def test_availability_counts_a_useless_picture_as_down_and_prints_its_window(fleet, cli):
    """A covered lens is unavailable, a clock drift only degraded (available, shown apart);
    the command says which period it measured, and a period reaching into the future stops
    at now."""
    _records(fleet, "BB-001", (T0, "ok", []), (T0 + timedelta(minutes=30), "degraded",
             ["covered"]), (T0 + timedelta(minutes=60), "degraded", ["clock_drift"]),
             (T0 + timedelta(minutes=90), "ok", []))  # fmt: skip
    start, end = T0.isoformat(), (T0 + timedelta(hours=2)).isoformat()
    code, out, err = cli("availability", "--from", start, "--to", end, "--json")
    assert code == 0, err
    row = {r["camera"]: r for r in json.loads(out)}["BB-001"]
    assert (row["availability_pct"], row["down_min"], row["degraded_min"]) == (75.0, 30.0, 30.0)
    assert (row["from"], row["to"]) == (start, end)
    code, out, _ = cli("availability", "--from", start, "--to", end)
    assert code == 0 and "Période du 23/11/2026 11:00:00 au 23/11/2026 13:00:00" in out
    # Up to a day from now: measured until now only, not counted as down or up after it.
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    code, out, _ = cli("availability", "--from", start, "--to", future, "--json")
    row = {r["camera"]: r for r in json.loads(out)}["BB-001"]
    assert datetime.fromisoformat(row["to"]) <= datetime.now(UTC)
    measured = (datetime.fromisoformat(row["to"]) - T0).total_seconds() / 60
    assert row["down_min"] == 30.0 and row["degraded_min"] == 30.0
    assert row["availability_pct"] == pytest.approx((measured - 30) / measured * 100, abs=0.01)
    _, out, _ = cli("availability", "--from", start, "--to", future)
    assert "(Europe/Paris) : jusqu'à maintenant" in out


def test_report_for_today_ends_at_now(fleet, cli):
    """`report --day <today>`: a camera down for the last minute has a minute of down time,
    not the rest of the day; the report says it is measured until now."""
    from zoneinfo import ZoneInfo

    from vp_monitor.alerts.reports import day_period

    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo("Europe/Paris")).date()
    period = day_period(today, "Europe/Paris")
    down_at = max(period.start, now - timedelta(minutes=1))
    _records(fleet, "BB-001", (period.start, "ok", []), (down_at, "down", ["unreachable"]))
    code, out, err = cli("report", "--day", today.isoformat(), "--json")
    assert code == 0, err
    content = json.loads(out)
    assert 0 < content["availability"]["down_s"] <= 90  # not the hours left until midnight
    until = datetime.fromisoformat(content["period"]["measured_until"])
    assert now <= until <= datetime.now(UTC)
    code, out, _ = cli("report", "--day", today.isoformat())
    assert code == 0 and "en cours, mesurée jusqu'au" in out


def test_incident_show_gives_the_opening_and_worst_figures(fleet, cli):
    """`incident show --json`: `metrics` are those of the check that opened the incident, not
    the latest check's; `worst` is its worst moment with its figures."""
    from vp_monitor.alerts.incidents import record_change
    from vp_monitor.alerts.settings import AlertSettings
    from vp_monitor.monitor.events import CameraChange

    with transaction(session_factory(fleet)) as session:
        camera_id = session.scalars(select(Camera.id).where(Camera.code == "VE-001")).one()
    checks = [
        (0, "degraded", {"frozen"}, {"frame_diff": 0.82, "mean_luma": 119.8}),
        (1, "down", {"frozen", "no_video"}, {"rtsp_main_response_s": 4.9}),
        (2, "degraded", {"frozen"}, {"rtsp_main_response_s": 0.02}),
    ]
    for minutes, state, conditions, metrics in checks:
        with transaction(session_factory(fleet)) as session:
            change = CameraChange(camera_id, T0 + timedelta(minutes=minutes), state, "ok",
                                  frozenset(conditions), opened=frozenset(conditions),
                                  metrics=metrics)  # fmt: skip
            incident_id = record_change(session, change, AlertSettings()).id
    code, out, err = cli("incident", "show", incident_id, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["metrics"] == {"frame_diff": 0.82, "mean_luma": 119.8}
    assert shown["worst"]["metrics"] == {"rtsp_main_response_s": 4.9}
    assert (shown["worst"]["state"], shown["worst"]["conditions"]) == (
        "down",
        ["frozen", "no_video"],
    )
    code, out, _ = cli("incident", "list", "--all", "--json")
    listed = {row["id"]: row for row in json.loads(out)}[incident_id]
    assert listed["metrics"] == shown["metrics"] and listed["worst"] == shown["worst"]
