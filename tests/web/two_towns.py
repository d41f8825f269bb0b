"""Two municipalities, each with its own cameras, sites, contacts, incidents and images, and
the callers of the web tests (a module of its own: test modules import it by this name).

`TWO_TOWNS` names every identifying string of each tenant, so that isolation tests can look
for the other tenant's strings in any response.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from vp_monitor.accounts.principal import Principal
from vp_monitor.alerts.models import Incident
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.models import CameraStatus, CameraThumbnail, CheckRecord
from vp_monitor.registry.models import ReferenceImage
from vp_monitor.registry.schemas import (
    CameraInput,
    ContactInput,
    MaintenanceInput,
    MunicipalityInput,
    SiteInput,
)
from vp_monitor.service.app import App

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CAMERA_PASSWORD = "Cam-Secret-7781"
WEBHOOK_SECRET = "whsec-Secret-5522"

# Each tenant: what identifies it, and what must never leave the server.
TWO_TOWNS = {
    "boulogne": {
        "insee": "92012", "municipality": "Boulogne-Billancourt", "maintainer": "Acme Vidéo",
        "sites": {"Mairie de Boulogne": "26 avenue André Morizet"},
        "cameras": {"BB-001": "Parvis mairie", "BB-002": "Rue de Sèvres"},
        "incident": "0d5c1e2a-0000-4000-8000-000000000001",
        "contact": "Police municipale Boulogne",
    },
    "versailles": {
        "insee": "78646", "municipality": "Versailles", "maintainer": "Brico Sécurité",
        "sites": {"Château de Versailles": "Place d'Armes"},
        "cameras": {"VE-001": "Grille royale", "VE-002": "Avenue de Paris"},
        "incident": "7e11aa00-0000-4000-8000-000000000002",
        "contact": "Police municipale Versailles",
    },
}  # fmt: skip

PRINCIPALS = {
    "admin": Principal("alice.admin", "admin"),
    "technician": Principal("theo.tech", "technician"),
    "operator": Principal("olga.op", "operator"),
    "boulogne": Principal("bb.mairie", "municipality", frozenset({"92012"})),
    "versailles": Principal("ve.mairie", "municipality", frozenset({"78646"})),
    "acme": Principal("acme.tech", "maintainer", maintainer="Acme Vidéo"),
}


def identifiers(tenant: str) -> list[str]:
    """Every string that identifies one tenant's objects."""
    town = TWO_TOWNS[tenant]
    found = [town["municipality"], town["maintainer"], town["incident"], town["contact"]]
    for site, address in town["sites"].items():
        found += [site, address]
    for code, name in town["cameras"].items():
        found += [code, name]
    return found


def jpeg(value: int) -> bytes:
    frame = np.full((90, 160, 3), value, np.uint8)
    cv2.putText(frame, str(value), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 2)
    return cv2.imencode(".jpg", frame)[1].tobytes()


def load_two_towns(app: App) -> None:
    """Two municipalities through the registry (as the CLI writes them), with monitor and
    alerting rows for each camera."""
    with app.registry(actor="fixture") as registry:
        for index, (tenant, town) in enumerate(TWO_TOWNS.items()):
            registry.add_municipality(
                MunicipalityInput(insee=town["insee"], name=town["municipality"])
            )
            for site, address in town["sites"].items():
                registry.add_site(
                    SiteInput(name=site, municipality=town["insee"], address=address,
                              uplink=f"UP-{tenant}")
                )  # fmt: skip
            for number, (code, name) in enumerate(town["cameras"].items()):
                registry.add_camera(CameraInput(
                    code=code, name=name, site=next(iter(town["sites"])),
                    municipality=town["insee"], maintainer=town["maintainer"],
                    rtsp_main=f"rtsp://viewer:{CAMERA_PASSWORD}@127.0.{10 + index}.{number + 1}"
                    ":554/main", onvif_host=f"127.0.{10 + index}.{number + 1}",
                    username="admin", password=CAMERA_PASSWORD, tags=[f"tag-{tenant}"],
                ))  # fmt: skip
            registry.add_contact(ContactInput(
                name=town["contact"], channel="webhook",
                address=f"https://hooks.example.org/{tenant}?key={WEBHOOK_SECRET}",
                municipality=town["insee"], secret=WEBHOOK_SECRET,
            ))  # fmt: skip
            registry.add_maintenance(MaintenanceInput(
                scope="camera", target=next(iter(town["cameras"])),
                starts_at=T0 + timedelta(days=30), ends_at=T0 + timedelta(days=30, hours=2),
                reason=f"nettoyage {town['municipality']}",
            ))  # fmt: skip
    with transaction(session_factory(app.engine)) as session:
        from sqlalchemy import select

        from vp_monitor.registry.models import Camera

        cameras = {c.code: c for c in session.scalars(select(Camera))}
        for index, town in enumerate(TWO_TOWNS.values()):
            first, second = (cameras[code] for code in town["cameras"])
            session.add_all([
                CameraStatus(camera_id=first.id, state="down", conditions=["no_video"], since=T0,
                             last_check_at=T0, metrics={"rtsp_main_response_s": 0.2}),
                CameraStatus(camera_id=second.id, state="ok", conditions=[], since=T0,
                             last_check_at=T0),
                Incident(id=town["incident"], kind="camera", camera_id=first.id,
                         site_id=first.site_id, severity="critical", conditions=["no_video"],
                         opened_at=T0, evidence_jpeg=jpeg(40 + index), camera_state="down",
                         camera_state_since=T0),
                ReferenceImage(camera_id=first.id, jpeg=jpeg(120 + index), width=160,
                               height=90, approved_by="fixture"),
                CameraThumbnail(camera_id=second.id, taken_at=T0, jpeg=jpeg(200 + index)),
            ])  # fmt: skip
            for camera, state in ((first, "down"), (second, "ok")):
                session.add(CheckRecord(camera_id=camera.id, at=T0, tier="full", state=state,
                                        conditions=[], duration_s=0.01))  # fmt: skip


async def header_principal(app: App, request, public: bool = False) -> Principal | None:
    """Test sign-in: `X-Test-As: <name of PRINCIPALS>` (the real one is proved apart)."""
    return PRINCIPALS.get(request.headers.get("X-Test-As", ""))


ACCOUNT_PASSWORD = "Account-Passw0rd-42"


def create_accounts(app: App) -> dict[str, str]:
    """A real account for each of PRINCIPALS, with an API token each: name -> token."""
    from argon2 import PasswordHasher

    from vp_monitor.accounts import service
    from vp_monitor.accounts.schemas import AccountInput, TokenInput

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tokens sign in here
    tokens = {}
    with app.registry(actor="fixture") as registry:
        for key, principal in PRINCIPALS.items():
            data = AccountInput(
                name=principal.name, role=principal.role,
                municipalities=sorted(principal.municipalities), maintainer=principal.maintainer,
            )  # fmt: skip
            service.add_account(registry, data, ACCOUNT_PASSWORD, hasher=cheap)
            tokens[key] = service.create_token(
                registry, TokenInput(user=principal.name, name="tests")
            )[1]
    return tokens
