"""The registry over HTTP: one object at a time within the caller's scope, writes validated and
audited as the command line's, import all or nothing, export scoped and without passwords."""

from __future__ import annotations

import csv
import io
import json

import pytest
from two_towns import CAMERA_PASSWORD, WEBHOOK_SECRET, identifiers

from vp_monitor.registry.schemas import ContactInput

pytestmark = pytest.mark.timeout(60)

SECRETS = (CAMERA_PASSWORD, WEBHOOK_SECRET)


def as_(who: str) -> dict[str, str]:
    return {"X-Test-As": who}


async def call(api, method: str, path: str, who: str = "technician", **kwargs):
    """The response's status and its body (JSON when it is, else text); no answer ever holds
    a stored secret."""
    headers = {**kwargs.pop("headers", {}), **as_(who)}
    response = await api.request(method, path, headers=headers, **kwargs)
    text = await response.text()
    for secret in SECRETS:
        assert secret not in text, (method, path)
    if response.content_type == "application/json":
        return response.status, json.loads(text)
    return response.status, text


def place_ids(vp_app) -> dict[str, int]:
    """Site and contact ids by name."""
    with vp_app.registry() as registry:
        found = {site.name: site.id for site in registry.sites()}
        found |= {contact.name: contact.id for contact in registry.contacts()}
    return found


def audit_actions(vp_app, entity: str, key: str) -> list[tuple[str, str]]:
    with vp_app.registry() as registry:
        return [(entry.action, entry.actor) for entry in registry.history(entity, key)]


NEW_CAMERA = {
    "code": "BB-010", "site": "Mairie de Boulogne", "municipality": "92012",
    "name": "Square", "rtsp_main": "rtsp://installer:Hidden-4411@127.0.30.1:554/main",
    "tags": ["parvis"],
}  # fmt: skip


# -- reading one object, within the scope -----------------------------------------------------
async def test_camera_is_read_within_the_scope_without_its_password(api):
    """A camera is found whatever the case of its code, by the supervision centre, its
    municipality and its maintainer; another tenant's camera is 404 as a missing one; the
    password is only said to exist."""
    status, camera = await call(api, "GET", "/api/v1/cameras/bb-001", "boulogne")
    assert status == 200 and camera["code"] == "BB-001" and camera["has_password"] is True
    assert camera["site"] == "Mairie de Boulogne" and camera["tags"] == ["tag-boulogne"]
    assert "password" not in camera and "@" not in camera["rtsp_main"]
    assert (await call(api, "GET", "/api/v1/cameras/BB-001", "acme"))[0] == 200
    assert (await call(api, "GET", "/api/v1/cameras/BB-001", "operator"))[0] == 200
    other = await call(api, "GET", "/api/v1/cameras/VE-001", "boulogne")
    missing = await call(api, "GET", "/api/v1/cameras/VE-999", "boulogne")
    assert other[0] == missing[0] == 404
    assert other[1]["error"].replace("VE-001", "?") == missing[1]["error"].replace("VE-999", "?")
    assert (await call(api, "GET", "/api/v1/cameras/VE-001", "acme"))[0] == 404
    assert (await call(api, "GET", "/api/v1/cameras/%00bad", "admin"))[0] == 404


async def test_municipality_and_site_are_read_within_the_scope(api, vp_app):
    """A municipality account reads its own municipality and sites; another's are 404; a
    maintainer reads those where it maintains a camera; ids too large or not numbers name no
    site."""
    ids = place_ids(vp_app)
    status, town = await call(api, "GET", "/api/v1/municipalities/92012", "boulogne")
    assert status == 200 and town == {
        "insee": "92012", "name": "Boulogne-Billancourt", "departement": "92"
    }  # fmt: skip
    assert (await call(api, "GET", "/api/v1/municipalities/78646", "boulogne"))[0] == 404
    assert (await call(api, "GET", "/api/v1/municipalities/92012", "acme"))[0] == 200
    assert (await call(api, "GET", "/api/v1/municipalities/78646", "acme"))[0] == 404
    assert (await call(api, "GET", "/api/v1/municipalities/nope", "admin"))[0] == 404
    mine, theirs = ids["Mairie de Boulogne"], ids["Château de Versailles"]
    status, site = await call(api, "GET", f"/api/v1/sites/{mine}", "boulogne")
    assert status == 200 and site["name"] == "Mairie de Boulogne"
    assert site["address"] == "26 avenue André Morizet" and site["municipality"] == "92012"
    assert (await call(api, "GET", f"/api/v1/sites/{theirs}", "boulogne"))[0] == 404
    assert (await call(api, "GET", f"/api/v1/sites/{theirs}", "acme"))[0] == 404
    for ref in ("99999999999999999999999", "2147483648", "abc"):
        assert (await call(api, "GET", f"/api/v1/sites/{ref}", "admin"))[0] == 404


async def test_contacts_read_by_supervision_and_own_municipality_masked(api, vp_app):
    """The supervision centre reads a recipient with its URL's credentials masked; a
    municipality its own only, e-mail local part masked; a maintainer not at all."""
    with vp_app.registry() as registry:
        registry.add_contact(ContactInput(
            name="Astreinte Boulogne", channel="email", address="astreinte@boulogne.example",
            municipality="92012",
        ))  # fmt: skip
    ids = place_ids(vp_app)
    hook, mail = ids["Police municipale Boulogne"], ids["Astreinte Boulogne"]
    status, contact = await call(api, "GET", f"/api/v1/contacts/{hook}", "operator")
    assert status == 200 and contact["has_secret"] is True and "secret" not in contact
    assert contact["address"].startswith("https://hooks.example.org/boulogne?key=")
    status, supervised = await call(api, "GET", f"/api/v1/contacts/{mail}", "admin")
    assert supervised["address"] == "astreinte@boulogne.example"
    status, own = await call(api, "GET", f"/api/v1/contacts/{mail}", "boulogne")
    assert status == 200 and own["address"] == "a***@boulogne.example"
    assert own["owner"] == "municipality 92012"
    theirs = ids["Police municipale Versailles"]
    assert (await call(api, "GET", f"/api/v1/contacts/{theirs}", "boulogne"))[0] == 404
    assert (await call(api, "GET", f"/api/v1/contacts/{hook}", "acme"))[0] == 403


async def test_camera_audit_trail_within_the_scope(api):
    """A camera's trail names who did what, each change before and after, the password
    masked; another tenant's camera is 404."""
    assert (await call(api, "PATCH", "/api/v1/cameras/BB-001", json={"name": "Parvis"}))[0] == 200
    status, trail = await call(api, "GET", "/api/v1/cameras/BB-001/audit", "boulogne")
    assert status == 200 and [(e["action"], e["actor"]) for e in trail] == [
        ("create", "fixture"), ("update", "theo.tech")
    ]  # fmt: skip
    assert trail[1]["changes"] == {"name": {"before": "Parvis mairie", "after": "Parvis"}}
    assert trail[0]["changes"]["password"] == {"before": None, "after": "********"}
    assert (await call(api, "GET", "/api/v1/cameras/VE-001/audit", "boulogne"))[0] == 404


# -- writes: the technicians', validated and audited as the CLI's ------------------------------
async def test_camera_created_updated_decommissioned_removed_with_audit(api, vp_app):
    """A technician registers a camera (credentials out of its URL, never answered back),
    changes it, retires it with a note and removes it; each write is audited under the
    technician's name."""
    status, camera = await call(api, "POST", "/api/v1/cameras", json=NEW_CAMERA)
    assert status == 201 and camera["code"] == "BB-010" and camera["has_password"] is True
    assert camera["rtsp_main"] == "rtsp://127.0.30.1:554/main" and "Hidden-4411" not in str(camera)
    assert camera["username"] == "installer" and camera["lifecycle"] == "active"
    status, camera = await call(
        api, "PATCH", "/api/v1/cameras/bb-010", json={"name": "Square Nord", "kind": "ptz"}
    )
    assert status == 200 and (camera["name"], camera["kind"]) == ("Square Nord", "ptz")
    assert camera["tags"] == ["parvis"]  # what was not given stays
    status, camera = await call(
        api, "POST", "/api/v1/cameras/BB-010/decommission", json={"note": "mât déposé"}
    )
    assert status == 200 and camera["lifecycle"] == "decommissioned"
    assert camera["notes"] == "mât déposé"
    assert (await call(api, "DELETE", "/api/v1/cameras/BB-010"))[0] == 204
    assert (await call(api, "GET", "/api/v1/cameras/BB-010", "admin"))[0] == 404
    assert audit_actions(vp_app, "camera", "BB-010") == [
        ("create", "theo.tech"), ("update", "theo.tech"), ("update", "theo.tech"),
        ("delete", "theo.tech"),
    ]  # fmt: skip


async def test_camera_writes_refuse_bad_input_with_the_field(api, vp_app):
    """Bad values are 422 naming the field (before or after merging with the stored camera);
    a code or device already registered is a conflict (409) as on the command line, and
    nothing is written."""
    bad_port = {**NEW_CAMERA, "onvif_host": "127.0.30.2", "onvif_port": 0}
    status, error = await call(api, "POST", "/api/v1/cameras", json=bad_port)
    assert (status, error["field"]) == (422, "onvif_port")
    status, error = await call(
        api, "POST", "/api/v1/cameras", json={**NEW_CAMERA, "code": "bb-001"}
    )
    assert status == 409 and "BB-001" in error["error"]
    same_device = {**NEW_CAMERA, "rtsp_main": "rtsp://127.0.10.1:554/main"}
    status, error = await call(api, "POST", "/api/v1/cameras", json=same_device)
    assert status == 409 and "BB-001" in error["error"]
    status, _ = await call(
        api, "POST", "/api/v1/cameras?allow_duplicate_device=true", json=same_device
    )
    assert status == 201
    status, error = await call(
        api, "PATCH", "/api/v1/cameras/BB-001", json={"expected_codec": "vp9"}
    )
    assert (status, error["field"]) == (422, "expected_codec")
    status, error = await call(api, "PATCH", "/api/v1/cameras/BB-001", json={"code": "X-1"})
    assert (status, error["field"]) == (422, "code")
    assert (await call(api, "PATCH", "/api/v1/cameras/XX-404", json={"name": "x"}))[0] == 404
    assert (await call(api, "PATCH", "/api/v1/cameras/BB-001?force=1", json={}))[0] == 422
    # A camera others refer to (a maintenance window) is a conflict, not a crash.
    status, error = await call(api, "DELETE", "/api/v1/cameras/BB-001")
    assert status == 409 and error["error"]
    assert [a for a, _ in audit_actions(vp_app, "camera", "BB-001")] == ["create"]


async def test_writes_are_for_technicians_only(api):
    """Operators, municipalities and maintainers read; they do not write (403, nothing
    done)."""
    for who in ("operator", "boulogne", "acme"):
        assert (await call(api, "POST", "/api/v1/cameras", who, json=NEW_CAMERA))[0] == 403
        assert (await call(api, "PATCH", "/api/v1/cameras/BB-001", who, json={}))[0] == 403
        assert (await call(api, "DELETE", "/api/v1/municipalities/92012", who))[0] == 403
        path = "/api/v1/cameras/BB-001/decommission"
        assert (await call(api, "POST", path, who, json={}))[0] == 403
        assert (await call(api, "POST", "/api/v1/cameras/import", who, data=b""))[0] == 403
    assert (await call(api, "GET", "/api/v1/cameras/BB-001", "admin"))[1]["lifecycle"] == "active"
    assert (await api.get("/api/v1/cameras/BB-001")).status == 401


async def test_municipality_created_updated_removed(api, vp_app):
    """A commune of the official list takes its official name; another code needs force and
    a name; a département that disagrees with the code names the field; a municipality with
    sites stays (409)."""
    status, town = await call(api, "POST", "/api/v1/municipalities", json={"insee": "92002"})
    assert (status, town["name"], town["departement"]) == (201, "Antony", "92")
    status, error = await call(api, "POST", "/api/v1/municipalities", json={"insee": "92999"})
    assert status == 422 and "92999" in error["error"]
    status, town = await call(
        api, "POST", "/api/v1/municipalities?force=true", json={"insee": "92999", "name": "Essai"}
    )
    assert (status, town["name"]) == (201, "Essai")
    status, town = await call(
        api, "PATCH", "/api/v1/municipalities/92002", json={"name": "Antony (92)"}
    )
    assert (status, town["name"]) == (200, "Antony (92)")
    status, error = await call(
        api, "PATCH", "/api/v1/municipalities/92002", json={"departement": "78"}
    )
    assert (status, error["field"]) == (422, "departement")
    assert (await call(api, "DELETE", "/api/v1/municipalities/92002"))[0] == 204
    assert (await call(api, "GET", "/api/v1/municipalities/92002", "admin"))[0] == 404
    status, error = await call(api, "DELETE", "/api/v1/municipalities/92012")
    assert status == 409 and "92012" in error["error"]
    assert audit_actions(vp_app, "municipality", "92002") == [
        ("create", "theo.tech"), ("update", "theo.tech"), ("delete", "theo.tech")
    ]  # fmt: skip


async def test_site_created_updated_removed(api, vp_app):
    """A site is created in a municipality, changed by id (a name already used there is a
    conflict), and removed once it has no camera (409 before)."""
    status, site = await call(api, "POST", "/api/v1/sites", json={
        "name": "Gymnase", "municipality": "92012", "latitude": 48.83, "longitude": 2.24,
    })  # fmt: skip
    assert status == 201 and site["name"] == "Gymnase" and site["latitude"] == 48.83
    path = f"/api/v1/sites/{site['id']}"
    status, site = await call(api, "PATCH", path, json={"uplink": "UP-9", "name": "Gymnase Est"})
    assert (status, site["uplink"], site["name"], site["latitude"]) == (
        200, "UP-9", "Gymnase Est", 48.83
    )  # fmt: skip
    status, error = await call(api, "PATCH", path, json={"latitude": 123})
    assert (status, error["field"]) == (422, "latitude")
    status, error = await call(api, "PATCH", path, json={"name": "Mairie de Boulogne"})
    assert status == 409
    status, error = await call(api, "POST", "/api/v1/sites", json={"name": "X"})
    assert (status, error["field"]) == (422, "municipality")
    mairie = place_ids(vp_app)["Mairie de Boulogne"]
    status, error = await call(api, "DELETE", f"/api/v1/sites/{mairie}")
    assert status == 409 and "Mairie de Boulogne" in error["error"]
    assert (await call(api, "DELETE", path))[0] == 204
    assert [a for a, _ in audit_actions(vp_app, "site", path.rsplit("/", 1)[1])] == [
        "create", "update", "delete"
    ]  # fmt: skip


async def test_contact_created_updated_removed(api, vp_app):
    """A recipient is added (its secret never answered back), told differently, removed;
    bad values name their field."""
    status, contact = await call(api, "POST", "/api/v1/contacts", json={
        "name": "Astreinte", "channel": "webhook", "secret": "s3cr3t-hook",
        "address": "https://user:pw@hooks.example.org/x", "municipality": "92012",
    })  # fmt: skip
    assert status == 201 and contact["has_secret"] is True
    assert "s3cr3t-hook" not in json.dumps(contact) and "pw@" not in contact["address"]
    path = f"/api/v1/contacts/{contact['id']}"
    status, contact = await call(api, "PATCH", path, json={"min_severity": "critical", "level": 2})
    assert (status, contact["min_severity"], contact["level"]) == (200, "critical", 2)
    status, error = await call(api, "PATCH", path, json={"level": 10})
    assert (status, error["field"]) == (422, "level")
    status, error = await call(api, "POST", "/api/v1/contacts", json={
        "name": "Mail", "channel": "email", "address": "not-an-address",
    })  # fmt: skip
    assert (status, error["field"]) == (422, "address")
    assert (await call(api, "DELETE", path))[0] == 204
    assert (await call(api, "GET", path, "admin"))[0] == 404
    assert [a for a, _ in audit_actions(vp_app, "contact", str(contact["id"]))] == [
        "create", "update", "delete"
    ]  # fmt: skip


# -- import and export -------------------------------------------------------------------------
CSV_HEADER = "code,site,municipality,rtsp_main,onvif_port\n"
GOOD_ROW = "BB-020,Gymnase,92012,rtsp://127.0.31.1/main,\n"
BAD_ROW = "BB-021,Gymnase,92012,rtsp://127.0.31.2/main,0\n"


async def test_import_dry_run_then_written(api):
    """A dry run says what would change and writes nothing; the same file then creates its
    site and camera."""
    body = (CSV_HEADER + GOOD_ROW).encode()
    headers = {"Content-Type": "text/csv"}
    status, report = await call(
        api, "POST", "/api/v1/cameras/import?dry_run=true", data=body, headers=headers
    )
    assert status == 200 and (report["create"], report["new_sites"]) == (1, 1)
    assert report["written"] is False and report["problems"] == report["rows"] == []
    assert (report["created"], report["updated"]) == (["BB-020"], [])
    assert (await call(api, "GET", "/api/v1/cameras/BB-020", "admin"))[0] == 404
    status, report = await call(api, "POST", "/api/v1/cameras/import", data=body, headers=headers)
    assert status == 200 and report["written"] is True and report["create"] == 1
    status, camera = await call(api, "GET", "/api/v1/cameras/BB-020", "boulogne")
    assert status == 200 and camera["site"] == "Gymnase"


async def test_import_with_a_bad_row_writes_nothing_and_says_where(api):
    """One bad row: 422 with the CLI's row error (line and column) in the caller's
    language, and the good rows are not written either; with skip_invalid they are."""
    body = (CSV_HEADER + GOOD_ROW + BAD_ROW).encode()
    headers = {"Content-Type": "text/csv"}
    status, refused = await call(api, "POST", "/api/v1/cameras/import", data=body, headers=headers)
    assert status == 422 and refused["written"] is False and refused["invalid_rows"] == 1
    assert refused["error"].startswith("1 ligne refusée")
    assert len(refused["problems"]) == 1 and "ligne 3, colonne onvif_port" in refused["problems"][0]
    [row] = refused["rows"]  # the same problem in parts, for the import page's table
    assert (row["line"], row["column"]) == (3, "onvif_port")
    assert row["reason"] in refused["problems"][0]
    assert (await call(api, "GET", "/api/v1/cameras/BB-020", "admin"))[0] == 404
    status, report = await call(
        api, "POST", "/api/v1/cameras/import?skip_invalid=true", data=body, headers=headers
    )
    assert status == 200 and report["written"] is True and report["create"] == 1
    assert (await call(api, "GET", "/api/v1/cameras/BB-020", "admin"))[0] == 200
    assert (await call(api, "GET", "/api/v1/cameras/BB-021", "admin"))[0] == 404


async def test_import_json_and_what_is_not_a_camera_file(api, vp_app):
    """A JSON list imports like CSV (item numbers in errors); another content type is 415,
    a JSON object or a CSV without a code column 422, a body over the limit 413."""
    rows = [
        {"code": "BB-030", "site": "Mairie de Boulogne", "municipality": "92012",
         "onvif_host": "127.0.32.1"},
        {"code": "BB-031", "site": "x", "municipality": "1"},
    ]  # fmt: skip
    status, refused = await call(api, "POST", "/api/v1/cameras/import", json=rows)
    assert status == 422 and "ligne 2, colonne municipality" in refused["problems"][0]
    status, refused = await call(api, "POST", "/api/v1/cameras/import",
                                 json=[{**rows[0], "colour": "red"}])  # fmt: skip
    assert status == 422 and refused["rows"][0]["column"] == "colour"  # an unknown key
    status, report = await call(api, "POST", "/api/v1/cameras/import", json=rows[:1])
    assert status == 200 and report["create"] == 1
    status, error = await call(
        api,
        "POST",
        "/api/v1/cameras/import",
        data=b"code\n",
        headers={"Content-Type": "text/plain"},
    )
    assert status == 415 and "text/csv" in error["error"]
    assert (await call(api, "POST", "/api/v1/cameras/import", json={"code": "X"}))[0] == 422
    status, error = await call(
        api,
        "POST",
        "/api/v1/cameras/import",
        data=b"name\nx\n",
        headers={"Content-Type": "text/csv"},
    )
    assert status == 422 and "code" in error["error"]
    status, error = await call(api, "POST", "/api/v1/cameras/import", data="[" * 100_000,
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 422
    huge = CSV_HEADER.encode() + b"x" * vp_app.settings.web.max_import_bytes
    status, _ = await call(
        api, "POST", "/api/v1/cameras/import", data=huge, headers={"Content-Type": "text/csv"}
    )
    assert status == 413


async def test_export_is_scoped_without_passwords_and_imports_back_unchanged(api):
    """A municipality exports its own cameras only, passwords as the placeholder; the
    supervision centre's CSV export imported again changes nothing."""
    status, text = await call(api, "GET", "/api/v1/cameras/export", "boulogne")
    assert status == 200
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [row["code"] for row in exported] == ["BB-001", "BB-002"]
    assert {row["password"] for row in exported} == {"********"}
    assert not any(name in text for name in identifiers("versailles"))
    status, cameras = await call(api, "GET", "/api/v1/cameras/export?format=json", "acme")
    assert status == 200 and [c["code"] for c in cameras] == ["BB-001", "BB-002"]
    status, full = await call(api, "GET", "/api/v1/cameras/export", "admin")
    status, report = await call(
        api, "POST", "/api/v1/cameras/import?dry_run=true", data=full.encode(),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert status == 200 and (report["unchanged"], report["create"], report["update"]) == (4, 0, 0)
    status, excel = await call(api, "GET", "/api/v1/cameras/export?excel=true", "admin")
    assert excel.startswith("\ufeffcode;name;")
    status, same = await call(api, "GET", "/api/v1/cameras/export?format=json&excel=true")
    assert status == 200 and [c["code"] for c in same] == ["BB-001", "BB-002", "VE-001", "VE-002"]
    status, error = await call(api, "GET", "/api/v1/cameras/export?format=xml")
    assert (status, error["field"]) == (422, "format")


async def test_values_the_database_cannot_store_are_refused_with_the_field(api):
    """Over-long texts and the NUL character (PostgreSQL stores neither) are 422 naming the
    field, from a JSON body or an import row, on both backends; nothing is written."""
    status, error = await call(
        api, "POST", "/api/v1/cameras", json={**NEW_CAMERA, "name": "n" * 121}
    )
    assert (status, error["field"]) == (422, "name")
    status, error = await call(api, "POST", "/api/v1/sites", json={
        "name": "Gymnase\u0000", "municipality": "92012",
    })  # fmt: skip
    assert (status, error["field"]) == (422, "name") and "NUL" in error["error"]
    status, error = await call(
        api, "PATCH", "/api/v1/cameras/BB-001", json={"tags": ["ok", "no\u0000"], "serial": "s"}
    )
    assert (status, error["field"]) == (422, "tags")
    body = CSV_HEADER.encode() + b"BB-040,Gymnase\x00,92012,rtsp://127.0.31.9/main,\n"
    status, refused = await call(
        api, "POST", "/api/v1/cameras/import", data=body, headers={"Content-Type": "text/csv"}
    )
    assert status == 422 and "colonne site" in refused["problems"][0]
    assert (await call(api, "GET", "/api/v1/cameras/BB-010", "admin"))[0] == 404
    status, camera = await call(api, "GET", "/api/v1/cameras/BB-001", "admin")
    assert camera["serial"] is None and camera["tags"] == ["tag-boulogne"]


async def test_an_import_that_would_time_out_writes_nothing(api, vp_app, monkeypatch):
    """An import still writing when its answer would be a time-out is rolled back: the
    caller told "took too long" finds nothing written (a dry run still answers)."""
    web = vp_app.settings.web.model_copy(update={"request_timeout_s": 1.0})  # no time to write
    monkeypatch.setattr(vp_app, "settings", vp_app.settings.model_copy(update={"web": web}))
    body = (CSV_HEADER + GOOD_ROW).encode()
    headers = {"Content-Type": "text/csv"}
    status, error = await call(api, "POST", "/api/v1/cameras/import", data=body, headers=headers)
    assert status == 503 and "rien n'a été écrit" in error["error"]
    assert (await call(api, "GET", "/api/v1/cameras/BB-020", "admin"))[0] == 404
    assert (await call(api, "GET", "/api/v1/sites/3", "admin"))[0] == 404
    status, report = await call(
        api, "POST", "/api/v1/cameras/import?dry_run=true", data=body, headers=headers
    )
    assert status == 200 and report["create"] == 1
