"""Daily reports: what each contact's report holds, when it is due, written once per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from vp_monitor.alerts.models import Delivery, Incident
from vp_monitor.alerts.report_format import html_report, plain_report, report_subject
from vp_monitor.alerts.reports import (
    build_report,
    create_due_reports,
    day_period,
    due_day,
)
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.availability import RECORDED_FLEET, classify
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.registry.models import (
    Camera,
    Contact,
    Lifecycle,
    Maintainer,
    Municipality,
    Site,
)
from vp_monitor.registry.scope import Scope

SETTINGS = AlertSettings()
VERSAILLES = Scope.of_municipalities(["78646"])
DAY = date(2026, 11, 23)  # Paris is UTC+1 in November: the day is 23:00 UTC to 23:00 UTC
START = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """A moment `hours` into the local day DAY."""
    return START + timedelta(hours=hours)


def history(session, camera: Camera, *points: tuple[float, str, bool]) -> None:
    """Check records (hour of DAY, state, in maintenance)."""
    for hours, state, maintenance in points:
        session.add(
            CheckRecord(camera_id=camera.id, tier="reachability", at=at(hours), state=state,
                        conditions=[], duration_s=0.1, detail={"in_maintenance": maintenance})
        )  # fmt: skip


def incident(session, camera: Camera, opened: float, resolved: float | None, **fields) -> Incident:
    found = Incident(
        id=f"inc-{camera.code}-{opened}", kind="camera", camera_id=camera.id,
        site_id=camera.site_id, severity=fields.pop("severity", "critical"),
        conditions=fields.pop("conditions", ["unreachable"]), opened_at=at(opened),
        status="resolved" if resolved is not None else "open",
        resolved_at=at(resolved) if resolved is not None else None, **fields,
    )  # fmt: skip
    session.add(found)
    return found


def fleet(factory) -> dict[str, object]:
    """Versailles: 2 cameras (one maintained by Acme), Boulogne: 1 camera, 1 decommissioned."""
    with transaction(factory) as session:
        versailles = Municipality(insee="78646", name="Versailles", departement="78")
        boulogne = Municipality(insee="92012", name="Boulogne-Billancourt", departement="92")
        acme = Maintainer(name="Acme")
        chateau = Site(name="Château", municipality=versailles)
        gare = Site(name="Gare", municipality=boulogne)
        v1 = Camera(code="VER-1", name="Grille", site=chateau, municipality=versailles,
                    maintainer=acme)  # fmt: skip
        v2 = Camera(code="VER-2", name="Cour", site=chateau, municipality=versailles)
        b1 = Camera(code="BOU-1", name="Parvis", site=gare, municipality=boulogne)
        old = Camera(code="BOU-OLD", site=gare, municipality=boulogne,
                     lifecycle=Lifecycle.DECOMMISSIONED)  # fmt: skip
        session.add_all([v1, v2, b1, old])
        session.flush()
        # VER-1: down 06:00-12:00, in maintenance 12:00-18:00. VER-2: up all day.
        history(session, v1, (-1, "ok", False), (6, "down", False), (12, "ok", True),
                (18, "ok", False))  # fmt: skip
        history(session, v2, (-1, "ok", False))
        history(session, b1, (-1, "ok", False), (2, "down", False), (3, "ok", False))
        session.add_all([
            CameraStatus(camera_id=v1.id, state="ok", since=at(18)),
            CameraStatus(camera_id=v2.id, state="degraded", since=at(20), conditions=["blurred"]),
        ])  # fmt: skip
        incident(session, v1, 6, 12, acknowledged_by="alice")
        incident(session, v2, 20, None, severity="major", conditions=["blurred"])
        incident(session, v2, -30, -25)  # the day before: not in the report
        incident(session, b1, 2, 3)
        return {"versailles": versailles.id, "boulogne": boulogne.id, "acme": acme.id}


def test_municipality_report_holds_its_cameras_only(engine):
    """Versailles's report: its 2 cameras, their availability (maintenance left out), its
    incidents of the day, worst first; nothing about Boulogne."""
    factory = session_factory(engine)
    fleet(factory)
    with transaction(factory) as session:
        scope = VERSAILLES
        report = build_report(
            session, scope, day_period(DAY, "Europe/Paris"), SETTINGS, fleet=RECORDED_FLEET
        )
    assert report["period"] == {
        "day": "2026-11-23",
        "start": "2026-11-22T23:00:00Z",
        "end": "2026-11-23T23:00:00Z",
        "timezone": "Europe/Paris",
        "measured_until": "2026-11-23T23:00:00Z",
    }
    assert report["cameras"] == {"total": 2, "states": {"degraded": 1, "ok": 1, "unknown": 0}}
    figures = report["availability"]
    # VER-1: 6 h up + 6 h down + 6 h maintenance + 6 h up; VER-2: 24 h up.
    assert figures["down_s"] == 6 * 3600 and figures["maintenance_s"] == 6 * 3600
    assert figures["ratio"] == round(36 / 42, 6)
    assert [row["code"] for row in figures["lowest"]] == ["VER-1"]
    assert figures["lowest"][0]["ratio"] == round(12 / 18, 6)
    incidents = report["incidents"]
    assert (incidents["opened"], incidents["resolved"], incidents["still_open"]) == (2, 1, 1)
    assert incidents["by_condition"] == {"unreachable": 1, "blurred": 1}
    assert [row["camera"] for row in incidents["items"]] == ["VER-1", "VER-2"]  # critical first
    assert incidents["items"][0]["duration_s"] == 6 * 3600
    assert incidents["items"][0]["acknowledged_by"] == "alice"
    assert "BOU" not in str(report)


def test_a_day_not_over_is_measured_until_now(engine):
    """Today's report at noon counts the morning only: the afternoon still to come is neither
    up nor down, and the report says where it stopped measuring (JSON and text)."""
    factory = session_factory(engine)
    fleet(factory)
    with transaction(factory) as session:
        scope = VERSAILLES
        report = build_report(session, scope, day_period(DAY, "Europe/Paris"), SETTINGS,
                              now=at(12), fleet=RECORDED_FLEET)  # fmt: skip
    assert report["period"]["measured_until"] == "2026-11-23T11:00:00Z"
    figures = report["availability"]
    # VER-1: up 00:00-06:00, down 06:00-12:00; VER-2: up 00:00-12:00; nothing after noon.
    assert figures["down_s"] == 6 * 3600 and figures["maintenance_s"] == 0
    assert figures["ratio"] == 0.75
    assert "Journée du 23/11/2026 (Europe/Paris) — en cours, mesurée jusqu'au 23/11 12:00" in (
        plain_report(report, "fr")
    )
    assert "in progress, measured until 11-23 12:00" in plain_report(report, "en")
    # A past day says nothing of the kind.
    with transaction(factory) as session:
        past = build_report(
            session, scope, day_period(DAY, "Europe/Paris"), SETTINGS, fleet=RECORDED_FLEET
        )
    assert "en cours, mesurée" not in plain_report(past, "fr")


def test_a_picture_that_shows_nothing_is_unavailable_a_low_frame_rate_is_not(engine):
    """Available means usable video: a black picture counts as down time; a low frame rate is
    degraded, shown on its own and counted as available."""
    factory = session_factory(engine)
    with transaction(factory) as session:
        town = Municipality(insee="78646", name="Versailles", departement="78")
        camera = Camera(code="VER-9", name="Parc", municipality=town,
                        site=Site(name="Parc", municipality=town))  # fmt: skip
        session.add(camera)
        session.flush()
        for hours, conditions in ((-1, []), (4, ["black"]), (10, ["low_fps"]), (16, [])):
            state = "degraded" if conditions else "ok"
            session.add(CheckRecord(
                camera_id=camera.id, tier="stream", at=at(hours), state=state,
                availability=classify(state, conditions), conditions=conditions,
                duration_s=1.0, detail={"in_maintenance": False, "confirmed": conditions},
            ))  # fmt: skip
    with transaction(factory) as session:
        report = build_report(
            session,
            Scope.supervision(),
            day_period(DAY, "Europe/Paris"),
            SETTINGS,
            fleet=RECORDED_FLEET,
        )
    figures = report["availability"]
    assert figures["down_s"] == 6 * 3600  # black 04:00-10:00
    assert figures["degraded_s"] == 6 * 3600  # low_fps 10:00-16:00, available
    assert figures["ratio"] == 0.75
    assert figures["lowest"][0]["degraded_s"] == 6 * 3600
    assert "dont dégradée (image utilisable) 6 h 00 min" in plain_report(report, "fr")


def test_maintainer_and_supervision_scopes(engine):
    """Acme's report covers the camera it maintains; the supervision centre's, the fleet
    (decommissioned cameras left out)."""
    factory = session_factory(engine)
    fleet(factory)
    period = day_period(DAY, "Europe/Paris")
    with transaction(factory) as session:
        acme = build_report(session, Scope.of_maintainer("Acme"), period,
                            SETTINGS, fleet=RECORDED_FLEET)  # fmt: skip
        everything = build_report(
            session, Scope.supervision(), period, SETTINGS, fleet=RECORDED_FLEET
        )
    assert acme["cameras"]["total"] == 1 and acme["incidents"]["opened"] == 1
    assert everything["cameras"]["total"] == 3 and everything["incidents"]["opened"] == 3
    assert everything["cameras"]["states"]["unknown"] == 1  # BOU-1 has no status row


def test_a_contact_reports_on_the_tenant_scope_of_its_owner(engine):
    """A municipality's contact gets the scope of its INSEE code, a maintainer's that of its
    company, the supervision centre's the whole fleet: the one tenant scope, and a maintainer's
    report names the company."""
    factory = session_factory(engine)
    ids = fleet(factory)
    with transaction(factory) as session:
        town = Contact(
            name="Mairie",
            channel="email",
            address="pm@versailles.example",
            municipality_id=ids["versailles"],
        )
        company = Contact(
            name="Acme", channel="email", address="ops@acme.example", maintainer_id=ids["acme"]
        )
        centre = Contact(name="CSU", channel="webhook", address="http://127.0.0.1:9/hook")
        session.add_all([town, company, centre])
        session.flush()
        assert Scope.of_contact(town) == VERSAILLES
        assert Scope.of_contact(company) == Scope.of_maintainer("Acme")
        assert Scope.of_contact(centre) == Scope.supervision()
        acme = build_report(
            session,
            Scope.of_contact(company),
            day_period(DAY, "Europe/Paris"),
            SETTINGS,
            fleet=RECORDED_FLEET,
        )
    assert acme["scope"] == {"kind": "maintainer", "name": "Acme"}


def test_report_is_due_after_its_local_time_on_the_next_day():
    """At 06:59 Paris nothing is due; from 07:00 the previous day's report is."""
    before = datetime(2026, 11, 24, 5, 59, tzinfo=UTC)  # 06:59 in Paris
    assert due_day(before, SETTINGS) is None
    assert due_day(before + timedelta(minutes=1), SETTINGS) == DAY
    assert due_day(datetime(2026, 11, 24, 22, 59, tzinfo=UTC), SETTINGS) == DAY
    assert due_day(datetime(2026, 11, 24, 23, 0, tzinfo=UTC), SETTINGS) is None  # 00:00 Paris
    assert due_day(datetime(2026, 11, 25, 6, 0, tzinfo=UTC), SETTINGS) == date(2026, 11, 24)
    summer = day_period(date(2026, 3, 29), "Europe/Paris")  # clocks go forward: 23 hours
    assert summer.end - summer.start == timedelta(hours=23)


def test_each_contact_that_takes_reports_gets_one_per_day(engine):
    """The job writes one report delivery per contact and day, whatever how often it runs."""
    factory = session_factory(engine)
    ids = fleet(factory)
    with transaction(factory) as session:
        session.add_all([
            Contact(name="Mairie", channel="email", address="pm@versailles.example",
                    municipality_id=ids["versailles"], reports=True),
            Contact(name="CSU", channel="webhook", address="http://127.0.0.1:9/hook",
                    reports=True),
            Contact(name="Astreinte", channel="email", address="a@versailles.example",
                    municipality_id=ids["versailles"]),  # no reports
        ])  # fmt: skip
    morning = datetime(2026, 11, 24, 6, 0, 30, tzinfo=UTC)
    with transaction(factory) as session:
        assert (
            create_due_reports(
                session, SETTINGS, morning - timedelta(minutes=5), fleet=RECORDED_FLEET
            )
            == 0
        )
        assert create_due_reports(session, SETTINGS, morning, fleet=RECORDED_FLEET) == 2
    with transaction(factory) as session:
        assert (
            create_due_reports(
                session, SETTINGS, morning + timedelta(hours=12), fleet=RECORDED_FLEET
            )
            == 0
        )
        assert (
            create_due_reports(session, SETTINGS, morning + timedelta(days=1), fleet=RECORDED_FLEET)
            == 2
        )
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [row.kind for row in rows] == ["report"] * 4
    assert [row.idempotency_key.rsplit("-", 3)[1:] for row in rows][:2] == [
        ["2026", "11", "23"], ["2026", "11", "23"]
    ]  # fmt: skip
    town = next(row.payload for row in rows if row.payload["scope"]["kind"] == "municipality")
    assert town["scope"] == {"kind": "municipality", "name": "Versailles"}
    assert town["cameras"]["total"] == 2


def test_report_text_in_french_and_english(engine):
    """The e-mail's words: French by default with French dates and decimal comma; English."""
    factory = session_factory(engine)
    fleet(factory)
    with transaction(factory) as session:
        scope = VERSAILLES
        report = build_report(
            session, scope, day_period(DAY, "Europe/Paris"), SETTINGS, fleet=RECORDED_FLEET
        )
    assert report_subject(report, "fr") == (
        "[vp-monitor] Rapport quotidien du 23/11/2026 — Versailles : 85,71 %, 2 incidents"
    )
    french = plain_report(report, "fr")
    assert (
        "Disponibilité : 85,71 % (indisponibilité 6 h 00 min ; maintenance exclue 6 h 00 min)"
        in french
    )
    assert (
        "[CRITIQUE] VER-1 « Grille » (Château) : caméra injoignable — ouvert le 23/11 06:00, "
        "rétabli après 6 h 00 min, pris en compte par alice" in french
    )
    assert (
        "[MAJEUR] VER-2 « Cour » (Château) : image floue — ouvert le 23/11 20:00, en cours"
        in french
    )
    english = plain_report(report, "en")
    assert (
        "Availability: 85.71 % (down time 6 h 00 min; maintenance left out 6 h 00 min)" in english
    )
    assert "Least available cameras".upper() in english
    rich = html_report(report, "fr")
    assert rich.startswith('<html lang="fr">') and "Caméras les moins disponibles" in rich


def test_report_html_escapes_names(engine):
    """A camera named with markup is shown, not interpreted."""
    factory = session_factory(engine)
    fleet(factory)
    with transaction(factory) as session:
        session.scalars(select(Camera).where(Camera.code == "VER-1")).one().name = "<b>x</b>"
    with transaction(factory) as session:
        scope = VERSAILLES
        report = build_report(
            session, scope, day_period(DAY, "Europe/Paris"), SETTINGS, fleet=RECORDED_FLEET
        )
    rich = html_report(report, "fr")
    assert "<b>x</b>" not in rich and "&lt;b&gt;x&lt;/b&gt;" in rich


def test_digest_times_are_local(engine):
    """A digest-mode contact's event waits for the next digest time (08:00 or 17:00 Paris)."""
    from vp_monitor.alerts.outbox import next_digest_at

    settings = AlertSettings(digest_times=[time(8, 0), time(17, 0)])
    assert next_digest_at(at(9), settings) == at(17)  # 09:00 → 17:00 the same day
    assert next_digest_at(at(17), settings) == at(24 + 8)  # exactly 17:00 → next morning
    assert next_digest_at(at(3), settings) == at(8)


def test_serve_runs_the_report_job_every_minute(engine):
    """The alert jobs of `serve` include the daily report: run now (report time 00:00, so
    yesterday's is due), it writes the report of a contact that takes reports, once."""
    from vp_monitor.alerts.channels import ChannelSettings
    from vp_monitor.alerts.jobs import REPORTS_EVERY_S, add_alert_jobs

    factory = session_factory(engine)
    fleet(factory)
    with transaction(factory) as session:
        session.add(Contact(name="CSU", channel="email", address="csu@example.org", reports=True))
    jobs, fleet_jobs = {}, {}
    settings = AlertSettings(report_time=time(0, 0))
    add_alert_jobs(lambda func, every, name: jobs.__setitem__(name, (func, every)),
                   lambda work, every, name: fleet_jobs.__setitem__(name, (work, every)),
                   factory, settings, ChannelSettings(), None, RECORDED_FLEET)  # fmt: skip
    report, every = fleet_jobs["alerts-reports"]
    assert every == REPORTS_EVERY_S == 60
    for _ in range(2):
        with transaction(factory) as session:
            report(session)
    with factory() as session:
        [delivery] = session.scalars(select(Delivery)).all()
    assert delivery.kind == "report" and delivery.payload["scope"]["kind"] == "all"
