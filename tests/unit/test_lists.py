"""The service layer's lists: filters, totals, stable pages, sorts, tenant scopes, literal text
search, the status summary and a camera's state history, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from vp_monitor.alerts.models import Incident
from vp_monitor.conditions import CONDITIONS, SEVERITY_RANK
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.registry.models import (
    Camera,
    Contact,
    Maintainer,
    MaintenanceWindow,
    Municipality,
    Site,
)
from vp_monitor.registry.service import NotFound
from vp_monitor.service import lists, views
from vp_monitor.service.lists import (
    CameraFilters,
    ContactFilters,
    IncidentFilters,
    MaintenanceFilters,
    Page,
    SiteFilters,
)
from vp_monitor.service.scope import Scope

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BOULOGNE, VERSAILLES = Scope.of_municipalities(["92012"]), Scope.of_municipalities(["78646"])
EVERYONE, ACME = Scope.supervision(), Scope.of_maintainer("Acme")
# Camera i: its status (None: never checked), by i % 6.
STATUSES = [("ok", []), ("down", ["no_video"]), ("degraded", ["blurred"]), None,
            ("degraded", ["low_fps"]), ("ok", [])]  # fmt: skip
BB_COUNT, VE_COUNT = 24, 12
HOSTILE = ["'; DROP TABLE camera; --", "%", "_", "\\", '"', "O'Brien"]


@pytest.fixture
def fleet(engine):
    """Boulogne: 24 cameras on two sites, even ones maintained by Acme; Versailles: 12 on one
    site, with a site outage. States, conditions, tags and lifecycles vary with the index."""
    with transaction(session_factory(engine)) as session:
        acme, bolt = Maintainer(name="Acme"), Maintainer(name="Bolt")
        boulogne = Municipality(insee="92012", name="Boulogne-Billancourt", departement="92")
        versailles = Municipality(insee="78646", name="Versailles", departement="78")
        mairie = Site(name="Mairie", municipality=boulogne, address="26 avenue André Morizet")
        parc = Site(name="Parc", municipality=boulogne, address="Parc Rothschild")
        chateau = Site(name="Château", municipality=versailles, address="Place d'Armes")
        cameras = []
        for town, prefix, count in ((boulogne, "BB", BB_COUNT), (versailles, "VE", VE_COUNT)):
            for i in range(count):
                site = chateau if town is versailles else (mairie if i < 12 else parc)
                name = {10: "100% net", 11: "a_b"}.get(i, f"Caméra {i}")
                tags = (["entrée"] if i % 4 == 0 else []) + (["parking"] if i % 5 == 0 else [])
                lifecycle = {7: "decommissioned", 9: "planned"}.get(i, "active")
                company = (acme if i % 2 == 0 else None) if town is boulogne else bolt
                cameras.append(Camera(code=f"{prefix}-{i:03d}", name=name, site=site,
                                      municipality=town, tags=tags, lifecycle=lifecycle,
                                      maintainer=company))  # fmt: skip
        session.add_all([*cameras, Contact(name="CSU", channel="email", address="csu@x.org")])
        session.add_all([
            Contact(name="Mairie BB", channel="email", address="bb@x.org", municipality=boulogne),
            Contact(name="Mairie VE", channel="mqtt", address="ve/alerts", municipality=versailles),
            Contact(name="Acme astreinte", channel="email", address="a@acme.fr", maintainer=acme),
        ])  # fmt: skip
        session.flush()
        for index, camera in enumerate(cameras):
            status = STATUSES[int(camera.code[3:]) % 6]
            if status is not None:
                session.add(CameraStatus(camera_id=camera.id, state=status[0],
                                         conditions=status[1], since=T0 - timedelta(minutes=index),
                                         last_check_at=T0))  # fmt: skip
        by_code = {camera.code: camera for camera in cameras}
        for n, (code, status, severity, found) in enumerate([
            ("BB-001", "open", "critical", ["no_video"]),
            ("BB-002", "acknowledged", "major", ["blurred"]),
            ("BB-004", "resolved", "critical", ["unreachable"]),
            ("BB-005", "open", "major", ["frozen"]),
            ("VE-001", "open", "critical", ["no_video"]),
        ]):  # fmt: skip
            camera = by_code[code]
            session.add(Incident(id=f"00000000-0000-4000-8000-{n:012d}", kind="camera",
                                 camera_id=camera.id, site_id=camera.site_id, status=status,
                                 severity=severity, conditions=found,
                                 opened_at=T0 - timedelta(hours=n)))  # fmt: skip
        session.add(Incident(id="ffffffff-0000-4000-8000-000000000000", kind="site",
                             site_id=chateau.id, status="open", severity="critical",
                             conditions=["site_down"], opened_at=T0))  # fmt: skip
        window = {"starts_at": T0, "ends_at": T0 + timedelta(hours=2)}
        session.add_all([
            MaintenanceWindow(scope="camera", camera_id=by_code["BB-000"].id, **window),
            MaintenanceWindow(scope="site", site_id=chateau.id, **window),
            MaintenanceWindow(scope="municipality", municipality_id=versailles.id,
                              starts_at=T0 - timedelta(days=2), ends_at=T0 - timedelta(days=1)),
        ])  # fmt: skip
    return engine


def read(engine, function, *args, **kwargs):
    with session_factory(engine)() as session:
        return function(session, *args, **kwargs)


def codes(listing):
    return [item["code"] for item in listing["items"]]


def test_page_and_filters_are_validated():
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}, {"size": 5},
                {"offset": 2**63}):  # fmt: skip
        with pytest.raises(ValidationError):
            Page(**bad)
    for bad in ({"state": ["broken"]}, {"sort": "random"}, {"municipality": "9201"},
                {"condition": "sad"}, {"severity": "bad"}, {"colour": "red"},
                {"site": 10**30}):  # fmt: skip
        with pytest.raises(ValidationError):
            CameraFilters(**bad)
    assert Page() == Page(limit=50, offset=0)
    assert CameraFilters(state="down,degraded").state == ["down", "degraded"]
    assert CameraFilters(state=["down", "ok"]).state == ["down", "ok"]
    assert CameraFilters(municipality="2a004").municipality == "2A004"
    with pytest.raises(ValidationError):
        CameraFilters(municipality="9A123")


@pytest.mark.parametrize("sort", CameraFilters.model_fields["sort"].annotation.__args__)
def test_walking_every_page_gives_each_camera_once(fleet, sort):
    filters, seen = CameraFilters(sort=sort), []
    for offset in range(0, 40, 7):
        page = read(fleet, lists.list_cameras, EVERYONE, filters, Page(limit=7, offset=offset))
        assert (page["total"], page["limit"], page["offset"]) == (BB_COUNT + VE_COUNT, 7, offset)
        seen += codes(page)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == BB_COUNT + VE_COUNT
    assert seen == codes(read(fleet, lists.list_cameras, EVERYONE, filters))  # same order


def test_sorts(fleet):
    worst = read(fleet, lists.list_cameras, EVERYONE)["items"]
    order = [lists.STATE_ORDER.get(item["state"], 9) for item in worst]
    assert order == sorted(order) and worst[0]["state"] == "down"
    assert worst[-1]["state"] == "decommissioned"
    assert codes(read(fleet, lists.list_cameras, EVERYONE, CameraFilters(sort="-code"))) == sorted(
        codes(read(fleet, lists.list_cameras, EVERYONE)), reverse=True
    )
    since = read(fleet, lists.list_cameras, EVERYONE, CameraFilters(sort="since"))["items"]
    known = [item["since"] for item in since if item["since"] is not None]
    assert known == sorted(known) and since[-1]["since"] is None  # never checked: last


def test_camera_filters_in_sql(fleet):
    def found(**filters):
        wanted = CameraFilters(sort="code", **filters)
        return codes(read(fleet, lists.list_cameras, EVERYONE, wanted))

    down = found(state=["down"])
    assert down == ["BB-001", "BB-013", "BB-019", "VE-001"]  # BB-007 is decommissioned
    assert found(state=["decommissioned"]) == ["BB-007", "VE-007"]
    assert found(state=["unknown"]) == ["BB-003", "BB-009", "BB-015", "BB-021", "VE-003",
                                        "VE-009"]  # fmt: skip
    assert found(condition="blurred") == ["BB-002", "BB-008", "BB-014", "BB-020", "VE-002",
                                          "VE-008"]  # fmt: skip
    assert found(municipality="78646", state=["down", "degraded"]) == [
        "VE-001", "VE-002", "VE-004", "VE-008", "VE-010"]  # fmt: skip
    assert found(maintainer="Bolt") == [f"VE-{i:03d}" for i in range(VE_COUNT)]
    assert found(tag="parking", municipality="92012") == ["BB-000", "BB-005", "BB-010",
                                                          "BB-015", "BB-020"]  # fmt: skip
    assert found(tag="entré") == []  # a tag is matched whole
    assert found(lifecycle="planned") == ["BB-009", "VE-009"]
    assert found(q="rothschild") == [f"BB-{i:03d}" for i in range(12, BB_COUNT)]
    assert found(q="ve-01") == ["VE-010", "VE-011"]
    assert found(q="CAMÉRA 2", municipality="78646") == ["VE-002"]  # accents fold too
    assert found(q="ANDRÉ M") == [f"BB-{i:03d}" for i in range(12)]  # the site's address
    with session_factory(fleet)() as session:
        parc = session.scalar(select(Site.id).where(Site.name == "Parc"))
    assert found(site=parc, state=["down"]) == ["BB-013", "BB-019"]


def test_severity_is_the_worst_of_open_incidents_and_conditions(fleet):
    with transaction(session_factory(fleet)) as session:  # a camera never checked, in trouble
        planned = session.scalar(select(Camera).where(Camera.code == "BB-009"))
        session.add(Incident(id="99999999-0000-4000-8000-000000000000", kind="camera",
                             camera_id=planned.id, status="open", severity="major",
                             conditions=["moved"], opened_at=T0))  # fmt: skip
    with session_factory(fleet)() as session:
        rows = session.execute(select(Camera.code, CameraStatus.conditions).outerjoin(
            CameraStatus, CameraStatus.camera_id == Camera.id)).all()  # fmt: skip
        open_ones = session.execute(
            select(Camera.code, Incident.severity)
            .join(Camera, Incident.camera_id == Camera.id)
            .where(Incident.status != "resolved")
        ).all()
    expected: dict[str, str | None] = {}
    for code, found in rows:
        severities = [CONDITIONS[name].severity for name in found or []]
        severities += [severity for c, severity in open_ones if c == code]
        expected[code] = max(severities, key=SEVERITY_RANK.get, default=None)
    items = read(fleet, lists.list_cameras, EVERYONE)["items"]
    assert {item["code"]: item["severity"] for item in items} == expected
    assert expected["BB-005"] == "major" and expected["BB-004"] == "minor"  # open vs resolved
    assert expected["BB-009"] == "major"
    for severity in ("critical", "major", "minor"):
        wanted = sorted(code for code, s in expected.items() if s == severity)
        got = read(fleet, lists.list_cameras, EVERYONE, CameraFilters(severity=severity,
                                                                      sort="code"))  # fmt: skip
        assert codes(got) == wanted and got["total"] == len(wanted)


@pytest.mark.parametrize("q", HOSTILE)
def test_text_search_takes_sql_looking_input_literally(fleet, q):
    found = read(fleet, lists.list_cameras, EVERYONE, CameraFilters(q=q))
    expected = {"%": ["BB-010", "VE-010"], "_": ["BB-011", "VE-011"]}.get(q, [])
    assert sorted(codes(found)) == expected and found["total"] == len(expected)
    sites = read(fleet, lists.list_sites, EVERYONE, SiteFilters(q=q))
    assert [site["name"] for site in sites["items"]] == []
    assert read(fleet, lists.list_cameras, EVERYONE, CameraFilters(tag=q))["total"] == 0
    with session_factory(fleet)() as session:
        assert session.scalar(select(func.count()).select_from(Camera)) == BB_COUNT + VE_COUNT
    assert read(fleet, lists.list_sites, EVERYONE, SiteFilters(q="d'armes"))["total"] == 1


def test_a_municipality_never_sees_another_ones_rows(fleet):
    page = Page(limit=5)
    mine = read(fleet, lists.list_cameras, BOULOGNE, page=page)
    assert mine["total"] == BB_COUNT and all(c.startswith("BB-") for c in codes(mine))
    other = CameraFilters(municipality="78646")
    assert read(fleet, lists.list_cameras, BOULOGNE, other, page) == {
        "items": [], "total": 0, "limit": 5, "offset": 0}  # fmt: skip
    assert read(fleet, lists.list_cameras, BOULOGNE, CameraFilters(q="VE-"))["total"] == 0
    assert read(fleet, lists.list_cameras, ACME)["total"] == BB_COUNT // 2
    incidents = read(fleet, lists.list_incidents, BOULOGNE, page=Page(limit=2))
    assert incidents["total"] == 4 and all(i["insee"] == "92012" for i in incidents["items"])
    assert read(fleet, lists.list_incidents, BOULOGNE,
                IncidentFilters(municipality="78646"))["total"] == 0  # fmt: skip
    sites = read(fleet, lists.list_sites, BOULOGNE)
    assert [(s["name"], s["cameras"]) for s in sites["items"]] == [("Mairie", 12), ("Parc", 12)]
    towns = read(fleet, lists.list_municipalities, VERSAILLES)
    assert [(t["insee"], t["cameras"]) for t in towns["items"]] == [("78646", VE_COUNT)]
    assert read(fleet, lists.list_municipalities, ACME)["total"] == 1
    assert [c["name"] for c in read(fleet, lists.list_contacts, BOULOGNE)["items"]] == [
        "Mairie BB"]  # fmt: skip
    assert [c["name"] for c in read(fleet, lists.list_contacts, ACME)["items"]] == [
        "Acme astreinte"]  # fmt: skip
    assert read(fleet, lists.list_contacts, EVERYONE)["total"] == 4
    assert [w["camera"] for w in read(fleet, lists.list_maintenance, BOULOGNE)["items"]] == [
        "BB-000"]  # fmt: skip
    assert read(fleet, lists.list_maintenance, VERSAILLES)["total"] == 2
    assert read(fleet, lists.list_maintenance, ACME)["total"] == 1
    summary = read(fleet, lists.status_summary, BOULOGNE)
    assert [t["municipality"] for t in summary["municipalities"]] == ["92012"]
    assert summary["fleet"]["total"] == BB_COUNT - 1  # BB-007 decommissioned: not watched
    with pytest.raises(NotFound):
        read(fleet, lists.state_history, BOULOGNE, "VE-001", T0 - timedelta(hours=1), T0)


def test_incident_filters_and_sort(fleet):
    def ids(**filters):
        found = read(fleet, lists.list_incidents, EVERYONE, IncidentFilters(**filters))
        assert found["total"] == len(found["items"])
        return [i["id"][-2:] for i in found["items"]]

    assert ids() == ["00", "00", "01", "02", "03", "04"]  # newest first (site outage: "00")
    assert ids(status="unresolved") == ["00", "00", "01", "03", "04"]
    assert ids(status="acknowledged") == ["01"] and ids(status="resolved") == ["02"]
    assert ids(severity="major") == ["01", "03"]
    assert ids(municipality="78646") == ["00", "04"]
    assert ids(camera="bb-001") == ["00"]
    assert ids(condition="site_down") == ["00"]
    assert ids(opened_from=T0 - timedelta(hours=2), opened_to=T0) == ["01", "02"]
    assert ids(sort="oldest")[:2] == ["04", "03"]
    assert ids(sort="severity") == ["00", "00", "02", "04", "01", "03"]
    with session_factory(fleet)() as session:
        chateau = session.scalar(select(Site.id).where(Site.name == "Château"))
    assert ids(site=chateau) == ["00", "04"]  # the site's outage and its camera's incident


def test_status_summary_counts_by_site_town_and_fleet(fleet):
    summary = read(fleet, lists.status_summary, EVERYONE)
    assert summary["fleet"] == {"total": 34, "states": {"ok": 12, "down": 4, "degraded": 12,
                                                        "unknown": 6}}  # fmt: skip
    towns = {t["municipality"]: t for t in summary["municipalities"]}
    assert towns["78646"]["states"] == {"ok": 4, "down": 1, "degraded": 4, "unknown": 2}
    assert towns["78646"]["name"] == "Versailles"
    sites = {s["site"]: s for s in summary["sites"]}
    assert sites["Parc"]["total"] == 12 and sites["Parc"]["municipality"] == "92012"
    assert sum(s["total"] for s in summary["sites"]) == summary["fleet"]["total"]
    wall = read(fleet, views.status_wall, EVERYONE, True)
    assert wall.watched == 34 and len(wall.cameras) == 34 - 12
    assert wall.cameras[0]["state"] == "down" and wall.cameras[0]["incident"] is not None


def test_state_history_gives_transitions_in_the_window(fleet):
    points = [
        (-180, "ok", []),
        (-60, "ok", []),
        (-30, "down", ["no_video"]),
        (-20, "down", ["no_video"]),
        (-10, "ok", []),
        (10, "degraded", ["blurred"]),
    ]
    with transaction(session_factory(fleet)) as session:
        camera_id = session.scalar(select(Camera.id).where(Camera.code == "BB-001"))
        for minutes, state, confirmed in points:
            session.add(CheckRecord(camera_id=camera_id, tier="stream", state=state,
                                    at=T0 + timedelta(minutes=minutes), duration_s=0.5,
                                    detail={"confirmed": confirmed}))  # fmt: skip
    history = read(fleet, lists.state_history, BOULOGNE, "bb-001", T0 - timedelta(minutes=40),
                   T0 + timedelta(minutes=5))  # fmt: skip
    assert (history["camera"], history["state_at_start"], history["total"]) == ("BB-001", "ok", 2)
    assert [(i["at"], i["previous"], i["state"], i["conditions"]) for i in history["items"]] == [
        (T0 - timedelta(minutes=30), "ok", "down", ["no_video"]),
        (T0 - timedelta(minutes=10), "down", "ok", []),
    ]  # fmt: skip
    later = read(fleet, lists.state_history, EVERYONE, "BB-001", T0, T0 + timedelta(hours=1),
                 Page(limit=1))  # fmt: skip
    assert [i["state"] for i in later["items"]] == ["degraded"] and later["state_at_start"] == "ok"


def test_camera_states_command(fleet, database_url, secret_key):
    from click.testing import CliRunner

    from vp_monitor.cli import main

    with transaction(session_factory(fleet)) as session:
        camera_id = session.scalar(select(Camera.id).where(Camera.code == "VE-001"))
        for minutes, state in ((-90, "ok"), (-30, "down"), (-10, "down")):
            session.add(CheckRecord(camera_id=camera_id, tier="reachability", state=state,
                                    at=T0 + timedelta(minutes=minutes), duration_s=0.1,
                                    detail={"confirmed": ["unreachable"] if state == "down"
                                            else []}))  # fmt: skip
    start, end = (T0 - timedelta(hours=1)).isoformat(), T0.isoformat()

    def run(*args):
        result = CliRunner().invoke(
            main,
            [
                "--database-url",
                database_url,
                "camera",
                "states",
                "ve-001",
                "--from",
                start,
                "--to",
                end,
                *args,
            ],
        )
        assert result.exit_code == 0, result.stderr
        return result.stdout

    history = json.loads(run("--json"))
    assert history["state_at_start"] == "ok" and history["total"] == 1
    assert [(i["previous"], i["state"], i["conditions"]) for i in history["items"]] == [
        ("ok", "down", ["unreachable"])]  # fmt: skip
    shown = run()
    assert "État au début : en service" in shown and "hors service" in shown
    assert "injoignable" in shown


def test_lists_of_places_contacts_and_maintenance(fleet):
    sites = read(fleet, lists.list_sites, EVERYONE, SiteFilters(sort="-name"))
    assert [s["name"] for s in sites["items"]] == ["Parc", "Mairie", "Château"]
    assert read(fleet, lists.list_contacts, EVERYONE, ContactFilters(channel="mqtt"))[
        "items"][0]["name"] == "Mairie VE"  # fmt: skip
    now = read(fleet, lists.list_maintenance, EVERYONE, MaintenanceFilters(active_from=T0))
    assert [w["scope"] for w in now["items"]] == ["camera", "site"]
    assert read(fleet, lists.list_maintenance, EVERYONE,
                MaintenanceFilters(municipality="78646"))["total"] == 1  # fmt: skip


def test_every_answer_matches_its_response_model(fleet):
    """The web's response models (and the OpenAPI) say exactly what the lists answer."""
    from vp_monitor.service import list_models as models

    answers = {
        models.CameraListing: read(fleet, lists.list_cameras, EVERYONE),
        models.IncidentListing: read(fleet, lists.list_incidents, EVERYONE, page=Page()),
        models.SiteListing: read(fleet, lists.list_sites, EVERYONE),
        models.MunicipalityListing: read(fleet, lists.list_municipalities, EVERYONE),
        models.ContactListing: read(fleet, lists.list_contacts, EVERYONE),
        models.MaintenanceListing: read(fleet, lists.list_maintenance, EVERYONE),
        models.StatusSummary: read(fleet, lists.status_summary, EVERYONE),
        models.StateHistory: read(fleet, lists.state_history, EVERYONE, "BB-001", T0, T0),
        models.CameraDetail: read(fleet, views.camera_detail, BOULOGNE, "bb-002"),
    }
    for model, answer in answers.items():
        validated = model.model_validate(answer)
        assert validated.model_dump(mode="json").keys() == answer.keys()
        for item, checked in zip(answer.get("items", []), validated.model_dump()["items"] if
                                 "items" in answer else [], strict=True):  # fmt: skip
            assert checked.keys() == item.keys()
    assert answers[models.CameraDetail]["severity"] == "major"  # the camera's page says it too
    with pytest.raises(ValidationError):  # a field the model does not know is refused
        models.SiteItem.model_validate({**answers[models.SiteListing]["items"][0], "x": 1})


def test_command_line_lists_use_the_same_read_models(fleet, database_url, secret_key):
    from click.testing import CliRunner

    from vp_monitor.cli import main

    def run(*args):
        result = CliRunner().invoke(main, ["--database-url", database_url, *args])
        return result.exit_code, result.stdout, result.stderr

    code, out, err = run("camera", "list", "--state", "down", "--municipality", "92012", "--json")
    assert code == 0, err
    assert [(r["code"], r["state"], r["severity"]) for r in json.loads(out)] == [
        ("BB-001", "down", "critical"), ("BB-013", "down", "critical"),
        ("BB-019", "down", "critical")]  # fmt: skip
    _, out, _ = run("camera", "list", "--search", "%", "--sort", "-code", "--json")
    assert [r["code"] for r in json.loads(out)] == ["VE-010", "BB-010"]
    _, out, _ = run("camera", "list", "--site", "Parc", "--municipality", "92012",
                    "--condition", "blurred", "--json")  # fmt: skip
    assert [r["code"] for r in json.loads(out)] == ["BB-014", "BB-020"]
    _, out, _ = run("incident", "list", "--severity", "major", "--json")
    assert [r["camera"] for r in json.loads(out)] == ["BB-002", "BB-005"]
    _, out, _ = run("incident", "list", "--camera", "ve-001", "--json")
    assert [r["camera"] for r in json.loads(out)] == ["VE-001"]
    _, out, _ = run("site", "list", "--municipality", "92012", "--json")
    assert [(r["name"], r["cameras"]) for r in json.loads(out)] == [("Mairie", 12), ("Parc", 12)]
    code, _, err = run("site", "list", "--municipality", "13055")
    assert code == 2 and "13055" in err
    _, out, _ = run("status", "--municipality", "78646", "--problems", "--json")
    assert [r["camera"] for r in json.loads(out)][:1] == ["VE-001"]


def test_one_query_model_is_a_lists_filters_and_page(fleet):
    query = lists.CameraQuery.model_validate(
        {"state": "down,degraded", "limit": "2", "sort": "code"}
    )
    found = read(fleet, lists.list_cameras, EVERYONE, query, query)
    assert (codes(found), found["total"], found["limit"]) == (["BB-001", "BB-002"], 16, 2)
    for bad in ({"limit": "0"}, {"q": "a\x00b"}, {"offset": "-1"}, {"page": "2"}):
        with pytest.raises(ValidationError):
            lists.CameraQuery.model_validate(bad)
    with pytest.raises(ValidationError, match="window"):
        lists.HistoryQuery.model_validate({"from": "2026-11-23T10:00Z", "to": "2026-11-23T09:00Z"})
    history = lists.HistoryQuery.model_validate({"from": "2026-11-23T09:00:00+00:00"})
    assert history.start == T0 - timedelta(hours=1) and history.end is None
    assert read(fleet, lists.state_history, EVERYONE, "BB-001")["total"] == 0  # the last day


ADDRESSES = {"Mairie": "26 avenue André Morizet", "Parc": "Parc Rothschild",
             "Château": "Place d'Armes"}  # fmt: skip


def matches(item: dict, f: CameraFilters) -> bool:
    """The camera filters' meaning, written plainly for the test."""
    text = [item["code"], item["name"], ADDRESSES[item["site"]]]
    return all((
        f.state is None or item["state"] in f.state,
        f.municipality is None or item["municipality"] == f.municipality,
        f.condition is None or f.condition in item["conditions"],
        f.severity is None or item["severity"] == f.severity,
        f.maintainer is None or item["maintainer"] == f.maintainer,
        f.tag is None or f.tag in item["tags"],
        f.lifecycle is None or item["lifecycle"] == f.lifecycle,
        not f.q or any(f.q.lower() in t.lower() for t in text),
    ))  # fmt: skip


def test_any_combination_of_filters_is_what_it_says(fleet):
    """Random filter combinations, sorts and pages against the filters' plain meaning."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    everything = read(fleet, lists.list_cameras, EVERYONE)["items"]
    sort = CameraFilters.model_fields["sort"].annotation
    filters = st.builds(
        CameraFilters,
        state=st.none() | st.lists(st.sampled_from(["ok", "down", "degraded", "unknown",
                                                    "decommissioned"]), min_size=1),
        municipality=st.sampled_from([None, "92012", "78646", "13055"]),
        condition=st.sampled_from([None, "blurred", "no_video", "low_fps", "frozen"]),
        severity=st.sampled_from([None, "critical", "major", "minor"]),
        maintainer=st.sampled_from([None, "Acme", "Bolt", "Nobody"]),
        tag=st.sampled_from([None, "entrée", "parking", "%"]),
        lifecycle=st.sampled_from([None, "active", "planned", "decommissioned"]),
        q=st.none() | st.sampled_from(["CAMÉRA 1", "é", "É", "ÂT"]) |
        st.text(alphabet="ab%_'\\ -0éÉ1", max_size=3),
        sort=st.sampled_from(sort.__args__),
    )  # fmt: skip
    scopes = st.sampled_from([EVERYONE, BOULOGNE, VERSAILLES, ACME])

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(filters, scopes, st.integers(1, 12))
    def check(wanted, scope, limit):
        inside = [i for i in everything if matches(i, wanted) and (
            scope.is_supervision or i["municipality"] in scope.municipalities
            or (scope.maintainer is not None and i["maintainer"] == scope.maintainer))]  # fmt: skip
        seen = []
        for offset in range(0, len(inside) + limit, limit):
            page = read(fleet, lists.list_cameras, scope, wanted, Page(limit=limit, offset=offset))
            assert page["total"] == len(inside)
            seen += codes(page)
        assert sorted(seen) == sorted(i["code"] for i in inside)

    check()
