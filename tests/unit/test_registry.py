"""Registry operations on SQLite and PostgreSQL: validation, audit trail, secrets at rest."""

import pytest
from sqlalchemy import select, text

from vp_monitor.db import session_factory, transaction
from vp_monitor.redaction import MASK, redact_url
from vp_monitor.registry.models import AuditEntry, Camera, Lifecycle
from vp_monitor.registry.schemas import CameraInput, MunicipalityInput, SiteInput
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.registry.service import NotFound, Registry, RegistryError


@pytest.fixture
def registry(engine, secret_key):
    with transaction(session_factory(engine)) as session:
        registry = Registry(session, SecretBox(secret_key.encode()), "tester")
        registry.add_municipality(MunicipalityInput(insee="92012", name="Boulogne-Billancourt"))
        registry.add_site(SiteInput(name="Mairie", municipality="92012", uplink="UP-1"))
        yield registry


def add(registry, code="BB-001", **fields):
    values = {"site": "Mairie", "municipality": "92012", "rtsp_main": "rtsp://127.9.9.1/main"}
    return registry.add_camera(CameraInput(code=code, **{**values, **fields}))


def test_password_is_encrypted_at_rest(registry, engine):
    """The password is stored encrypted, readable back only with the key."""
    camera = add(registry, username="admin", password="s3cr3t-pass")
    registry.session.flush()
    raw = registry.session.execute(text("SELECT password_encrypted FROM camera")).scalar_one()
    assert "s3cr3t-pass" not in raw
    assert registry.password(camera) == "s3cr3t-pass"


def test_credentials_in_rtsp_url_move_out_of_the_url(registry):
    """An RTSP URL with user:password@ is stored without them; they become the credentials."""
    camera = add(registry, rtsp_main="rtsp://admin:hunter2@127.9.9.1:554/main")
    assert camera.rtsp_main == "rtsp://127.9.9.1:554/main"
    assert camera.username == "admin"
    assert registry.password(camera) == "hunter2"


def test_audit_masks_secrets(registry):
    """Every write leaves an audit entry, and no entry holds the password."""
    add(registry, password="s3cr3t-pass")
    registry.update_camera("BB-001", password="n3w-pass", name="Parvis")
    entries = registry.history("camera", "BB-001")
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].before["name"] == "" and entries[1].after["name"] == "Parvis"
    dumped = repr([(e.before, e.after) for e in registry.session.scalars(select(AuditEntry))])
    assert "s3cr3t-pass" not in dumped and "n3w-pass" not in dumped
    assert MASK in dumped


def test_duplicate_code_is_refused(registry):
    """A second camera with the same asset code is refused with a clear reason."""
    add(registry)
    with pytest.raises(RegistryError, match="duplicate asset code"):
        add(registry)


def test_unknown_municipality_and_site(registry):
    """References to unknown municipalities or sites name what was not found."""
    with pytest.raises(NotFound, match="unknown municipality '78646'"):
        add(registry, municipality="78646")
    with pytest.raises(NotFound, match="unknown site 'Gare'"):
        add(registry, site="Gare")


def test_site_by_id_or_name(registry):
    """A site can be named by its id or by its name within the municipality."""
    site = registry.site("Mairie", "92012")
    assert registry.site(str(site.id)).name == "Mairie"
    assert add(registry, site=str(site.id)).site_id == site.id


def test_decommission_keeps_history(registry):
    """Decommissioning keeps the camera and its audit trail."""
    add(registry)
    registry.decommission_camera("BB-001", "replaced by BB-002")
    camera = registry.camera("BB-001")
    assert camera.lifecycle is Lifecycle.DECOMMISSIONED
    assert [e.action for e in registry.history("camera", "BB-001")] == ["create", "update"]


def test_remove_refuses_non_empty_parents(registry):
    """A site with cameras or a municipality with sites cannot be removed."""
    add(registry)
    with pytest.raises(RegistryError, match="still has cameras"):
        registry.remove_site("Mairie", "92012")
    with pytest.raises(RegistryError, match="still has sites"):
        registry.remove_municipality("92012")
    registry.remove_camera("BB-001")
    registry.remove_site("Mairie", "92012")
    registry.remove_municipality("92012")
    assert registry.session.scalar(select(Camera)) is None


@pytest.mark.parametrize(
    ("fields", "column"),
    [
        ({"rtsp_main": "http://127.9.9.1/main"}, "rtsp_main"),
        ({"rtsp_main": "rtsp://127.9.9.1:99999/main"}, "rtsp_main"),
        ({"onvif_port": 70000}, "onvif_port"),
        ({"municipality": "9201"}, "municipality"),
        ({"code": "bad code!"}, "code"),
        ({"kind": "periscope"}, "kind"),
        ({"installed_on": "31/12/2024"}, "installed_on"),
    ],
)
def test_input_validation_names_the_field(fields, column):
    """Malformed input is refused, naming the field at fault."""
    from pydantic import ValidationError

    values = {"code": "BB-1", "site": "Mairie", "municipality": "92012", **fields}
    with pytest.raises(ValidationError) as error:
        CameraInput(**values)
    assert error.value.errors()[0]["loc"][0] == column


@pytest.mark.parametrize(("lat", "lon"), [(91, 2.2), (48.8, 181), (-91, 0)])
def test_site_coordinates_in_range(lat, lon):
    """Coordinates outside WGS84 ranges are refused."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SiteInput(name="x", municipality="92012", latitude=lat, longitude=lon)


def test_departement_must_match_insee():
    """A département that contradicts the INSEE code is refused; it defaults from the code."""
    from pydantic import ValidationError

    assert MunicipalityInput(insee="78646", name="Versailles").departement == "78"
    assert MunicipalityInput(insee="2a004", name="Ajaccio").departement == "2A"
    with pytest.raises(ValidationError, match="does not match"):
        MunicipalityInput(insee="78646", name="Versailles", departement="92")


def test_redact_url():
    """Credentials inside any URL are masked."""
    assert redact_url("rtsp://admin:pw@h/x") == f"rtsp://{MASK}@h/x"
    assert redact_url("rtsp://h/x") == "rtsp://h/x"


def test_database_refuses_codes_differing_only_by_case(registry):
    """The unique index on lower(code) holds even for writes that bypass the registry checks."""
    from sqlalchemy.exc import IntegrityError

    first = add(registry, code="CAM-MAIRIE-01")
    registry.session.flush()
    twin = Camera(code="cam-mairie-01", site_id=first.site_id,
                  municipality_id=first.municipality_id, tags=[], notes="", name="")  # fmt: skip
    registry.session.add(twin)
    with pytest.raises(IntegrityError):
        registry.session.flush()
    registry.session.rollback()


def test_camera_found_whatever_the_case_of_its_code(registry):
    """Lookups by code ignore case, so a technician's `cam-01` finds `CAM-01`."""
    add(registry, code="CAM-01")
    assert registry.camera("cam-01").code == "CAM-01"


def test_shipped_communes_are_the_official_ones():
    """The shipped list holds the current communes of Île-de-France with their official names,
    and every INSEE code of the demo fleet is one of them with the same name."""
    import tomllib
    from pathlib import Path

    from vp_monitor.registry.communes import commune, departements

    assert departements() == ["75", "77", "78", "91", "92", "93", "94", "95"]
    assert commune("92012").name == "Boulogne-Billancourt"
    assert (commune("92050").name, commune("78646").name) == ("Nanterre", "Versailles")
    assert commune("75056").name == "Paris" and commune("75101") is None  # arrondissement
    assert commune("99999") is None
    fleet = tomllib.loads((Path(__file__).parents[2] / "config" / "demo-fleet.toml").read_text())
    for site in fleet["site"]:
        assert commune(site["municipality"]).name == site["municipality_name"]
