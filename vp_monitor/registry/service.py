"""Registry operations; every write leaves an audit entry with secrets masked."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from vp_monitor.probes.base import reference_key
from vp_monitor.redaction import MASK, redact_url
from vp_monitor.registry.communes import commune, departements
from vp_monitor.registry.models import (
    REFERENCE_IN_FORCE_ORDER,
    AuditEntry,
    Camera,
    Contact,
    ContactChannel,
    Lifecycle,
    Maintainer,
    MaintenanceScope,
    MaintenanceWindow,
    Municipality,
    ReferenceImage,
    ReferenceKind,
    Site,
)
from vp_monitor.registry.schemas import (
    CameraInput,
    ContactInput,
    MaintenanceInput,
    MunicipalityInput,
    SiteInput,
    split_host_port,
    split_url_credentials,
)
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.texts import Message, MessageError


class RegistryError(MessageError):
    """A registry write or lookup that cannot be done; the message says why."""


class NotFound(RegistryError):
    """The named municipality, site or camera does not exist."""


class Conflict(RegistryError):
    """Valid input the registry refuses because of what it holds: a code or device already
    registered, a municipality that still has sites, a site that still has cameras."""


# Camera columns written straight from CameraInput fields of the same name.
CAMERA_FIELDS = (
    "name", "kind", "onvif_host", "onvif_port", "username", "rtsp_main", "rtsp_sub",
    "expected_codec", "expected_width", "expected_height", "expected_fps", "manufacturer",
    "model", "serial", "firmware", "lifecycle", "installed_on", "authorisation_number",
    "authorisation_expires", "tags", "notes",
)  # fmt: skip


DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}


def stream_key(url: str) -> str:
    """An RTSP URL in a comparable form: scheme and host lower-cased, default port explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path or '/'}" + (
        f"?{parts.query}" if parts.query else ""
    )


def device_keys(camera: Camera | CameraInput) -> dict[str, Message]:
    """What identifies the device behind a camera (serial, ONVIF address, stream URLs): a
    comparable key for each, with how to name it."""
    keys = {}
    if camera.serial:
        keys[f"serial:{camera.serial.strip().lower()}"] = Message(
            "device.serial", serial=camera.serial
        )
    if camera.onvif_host:
        address = f"{camera.onvif_host.lower()}:{camera.onvif_port or 80}"
        keys[f"onvif:{address}"] = Message("device.onvif", address=address)
    for url in (camera.rtsp_main, camera.rtsp_sub):
        if url:
            keys[f"stream:{stream_key(url)}"] = Message("device.stream", url=url)
    return keys


@dataclass
class DeviceIndex:
    """Which camera holds each device key (one device is registered once)."""

    holders: dict[str, str] = field(default_factory=dict)  # device key -> camera code

    def add(self, camera: Camera | CameraInput) -> None:
        """Record a camera's device keys."""
        for key in device_keys(camera):
            self.holders.setdefault(key, camera.code)

    def find(self, data: CameraInput, current: Camera | None = None) -> Message | None:
        """Why `data` is a device registered as another camera, or None; for an update of
        `current`, only the keys it does not have already count (a shared encoder accepted
        once stays accepted)."""
        kept = device_keys(current) if current is not None else {}
        for key, what in device_keys(data).items():
            holder = self.holders.get(key)
            if key in kept or holder is None or holder.lower() == data.code.lower():
                continue
            return Message("device.duplicate", what=what, holder=holder)
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def camera_record(camera: Camera) -> dict[str, Any]:
    """The camera as plain values (for output, export and audit); the password is masked."""
    record: dict[str, Any] = {
        "code": camera.code,
        "site": camera.site.name,
        "site_id": camera.site_id,
        "municipality": camera.municipality.insee,
        "maintainer": camera.maintainer.name if camera.maintainer else None,
        "password": MASK if camera.password_encrypted else None,
    }
    record.update({name: _plain(getattr(camera, name)) for name in CAMERA_FIELDS})
    return record


def site_record(site: Site) -> dict[str, Any]:
    """The site as plain values."""
    return {
        "id": site.id,
        "name": site.name,
        "municipality": site.municipality.insee,
        "address": site.address,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "uplink": site.uplink,
    }


def municipality_record(municipality: Municipality) -> dict[str, Any]:
    """The municipality as plain values."""
    return {
        "insee": municipality.insee,
        "name": municipality.name,
        "departement": municipality.departement,
    }


@dataclass
class Registry:
    """Registry reads and writes inside one session, on behalf of one actor."""

    session: Session
    secrets: SecretBox
    actor: str
    # Lookups repeated by bulk imports; cleared by any removal or site change.
    _cache: dict[tuple, Any] = field(default_factory=dict, repr=False)
    _new_codes: set[str] = field(default_factory=set, repr=False)  # added, maybe not flushed

    def _cached(self, key: tuple, load) -> Any:
        if key not in self._cache:
            with self.session.no_autoflush:
                self._cache[key] = load()
        return self._cache[key]

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, action: str, entity: str, key: str, before=None, after=None) -> None:
        """Record one write; callers pass records whose secrets are already masked."""
        record_audit(self.session, self.actor, action, entity, key, before, after)

    def history(self, entity: str, key: str) -> list[AuditEntry]:
        """Audit entries of one entity, oldest first."""
        query = select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_key == key)
        return list(self.session.scalars(query.order_by(AuditEntry.id)))

    # -- municipalities ------------------------------------------------------------------------
    def municipality(self, insee: str) -> Municipality:
        """The municipality with this INSEE code, or NotFound."""
        key = insee.upper()
        found = self._cached(  # the query is built on a miss only: imports ask once per row
            ("municipality", key),
            lambda: self.session.scalar(select(Municipality).where(Municipality.insee == key)),
        )
        if found is None:
            del self._cache[("municipality", key)]
            raise NotFound("municipality.unknown", insee=insee)
        return found

    def municipalities(self) -> list[Municipality]:
        return list(self.session.scalars(select(Municipality).order_by(Municipality.insee)))

    def add_municipality(self, data: MunicipalityInput, force: bool = False) -> Municipality:
        """Create a municipality; its INSEE code must be new and, unless `force`, a current
        commune of the shipped official list (which gives the name when none is given)."""
        if self.session.scalar(select(Municipality.id).where(Municipality.insee == data.insee)):
            raise Conflict("municipality.exists", insee=data.insee)
        official = commune(data.insee)
        if official is None and not force:
            raise RegistryError(
                "municipality.not_official",
                insee=data.insee,
                departements=", ".join(departements()),
            )
        if data.name is None:
            if official is None:
                raise RegistryError("municipality.name_needed", insee=data.insee)
            data = data.model_copy(update={"name": official.name})
        municipality = Municipality(**data.model_dump())
        self.session.add(municipality)
        self.session.flush()
        self._cache.clear()
        self.audit("create", "municipality", data.insee, after=data.model_dump())
        return municipality

    def update_municipality(self, insee: str, **changes: Any) -> Municipality:
        municipality = self.municipality(insee)
        before = municipality_record(municipality)
        merged = MunicipalityInput.model_validate({**before, **_given(changes)})
        municipality.name, municipality.departement = merged.name, merged.departement
        self.audit("update", "municipality", insee, before, municipality_record(municipality))
        return municipality

    def remove_municipality(self, insee: str) -> None:
        municipality = self.municipality(insee)
        if self.session.scalar(select(Site.id).where(Site.municipality_id == municipality.id)):
            raise Conflict("municipality.has_sites", insee=insee)
        self.audit("delete", "municipality", insee, before=municipality_record(municipality))
        self.session.delete(municipality)
        self._cache.clear()

    # -- sites ---------------------------------------------------------------------------------
    def site(self, ref: str, municipality: str | None = None) -> Site:
        """A site by id, or by name within a municipality (names are unique per municipality)."""

        def query():  # built on a cache miss only: imports ask once per row
            found = select(Site).options(joinedload(Site.municipality))
            if municipality is not None:
                found = found.where(Site.municipality_id == self.municipality(municipality).id)
            return found

        by_name = self._cached(
            ("site", ref, municipality),
            lambda: list(self.session.scalars(query().where(Site.name == ref))),
        )
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise RegistryError("site.ambiguous", ref=ref)
        if ref.isdigit():
            found = self.session.scalar(query().where(Site.id == int(ref)))
            if found is not None:
                return found
        if municipality:
            raise NotFound("site.unknown_in", ref=ref, insee=municipality)
        raise NotFound("site.unknown", ref=ref)

    def sites(self, municipality: str | None = None) -> list[Site]:
        query = select(Site).options(joinedload(Site.municipality)).order_by(Site.id)
        if municipality:
            query = query.where(Site.municipality_id == self.municipality(municipality).id)
        return list(self.session.scalars(query))

    def add_site(self, data: SiteInput) -> Site:
        """Create a site in an existing municipality; its name must be new there."""
        municipality = self.municipality(data.municipality)
        if self.session.scalar(
            select(Site.id).where(Site.municipality_id == municipality.id, Site.name == data.name)
        ):
            raise Conflict("site.exists", name=data.name, insee=municipality.insee)
        values = data.model_dump(exclude={"municipality"})
        site = Site(municipality=municipality, **values)
        self.session.add(site)
        self.session.flush()
        self._cache.clear()
        self.audit("create", "site", str(site.id), after=site_record(site))
        return site

    def update_site(self, ref: str, municipality: str | None = None, **changes: Any) -> Site:
        site = self.site(ref, municipality)
        before = site_record(site)
        merged = SiteInput.model_validate(
            {**{k: v for k, v in before.items() if k != "id"}, **_given(changes)}
        )
        for name, value in merged.model_dump(exclude={"municipality"}).items():
            setattr(site, name, value)
        site.municipality = self.municipality(merged.municipality)
        self._cache.clear()
        self.audit("update", "site", str(site.id), before, site_record(site))
        return site

    def remove_site(self, ref: str, municipality: str | None = None) -> None:
        site = self.site(ref, municipality)
        if self.session.scalar(select(Camera.id).where(Camera.site_id == site.id)):
            raise Conflict("site.has_cameras", name=site.name)
        self.audit("delete", "site", str(site.id), before=site_record(site))
        self.session.delete(site)
        self._cache.clear()

    # -- cameras -------------------------------------------------------------------------------
    def camera(self, code: str) -> Camera:
        """The camera with this asset code (whatever its case), or NotFound."""
        found = self.session.scalar(
            select(Camera)
            .where(func.lower(Camera.code) == code.lower())
            .options(joinedload(Camera.site), joinedload(Camera.municipality))
        )
        if found is None:
            raise NotFound("camera.unknown", code=code)
        return found

    def cameras(self, municipality: str | None = None, site: str | None = None) -> list[Camera]:
        query = select(Camera).options(
            joinedload(Camera.site), joinedload(Camera.municipality), joinedload(Camera.maintainer)
        )
        if municipality:
            query = query.where(Camera.municipality_id == self.municipality(municipality).id)
        if site:
            query = query.where(Camera.site_id == self.site(site, municipality).id)
        return list(self.session.scalars(query.order_by(Camera.code)))

    def maintainer(self, name: str) -> Maintainer:
        """The maintainer company with this name, created on first mention."""
        query = select(Maintainer).where(Maintainer.name == name)
        found = self._cached(("maintainer", name), lambda: self.session.scalar(query))
        if found is None:
            found = self._cache["maintainer", name] = Maintainer(name=name)
            self.session.add(found)
            self.audit("create", "maintainer", name, after={"name": name})
        return found

    def add_camera(
        self, data: CameraInput, allow_duplicate_device: bool = False, checked: bool = False
    ) -> Camera:
        """Register a camera once `check_new_camera` accepts it (`checked`: it did already,
        as an import's plan does for every row)."""
        if not checked:
            self.check_new_camera(data, allow_duplicate_device)
        camera = Camera(code=data.code, tags=[], notes="", name="")
        self._apply(camera, data)
        self.session.add(camera)
        self._new_codes.add(camera.code.lower())
        self.audit("create", "camera", camera.code, after=camera_record(camera))
        return camera

    def check_new_camera(self, data: CameraInput, allow_duplicate_device: bool = False) -> None:
        """Raise RegistryError unless `data` can be added: its code must be new (whatever its
        case), its municipality and site must exist, and no other camera may have its serial,
        stream URL or ONVIF address unless `allow_duplicate_device` (a shared encoder)."""
        with self.session.no_autoflush:  # a flush per row would make bulk imports crawl
            exists = self.session.scalar(
                select(Camera.code).where(func.lower(Camera.code) == data.code.lower())
            )
        if exists or data.code.lower() in self._new_codes:
            if exists and exists != data.code:
                raise Conflict("camera.exists_as", code=data.code, existing=exists)
            raise Conflict("camera.exists", code=data.code)
        if not (data.onvif_host or data.rtsp_main):
            raise RegistryError("camera.address_needed", code=data.code)
        self.site(data.site, self.municipality(data.municipality).insee)
        if not allow_duplicate_device:
            self._refuse_duplicate_device(data)

    def update_camera(
        self, code: str, allow_duplicate_device: bool = False, **changes: Any
    ) -> tuple[Camera, bool]:
        """Apply the given (non-None) changes; returns the camera and whether anything changed.
        Credentials inside a given RTSP URL replace the stored ones, as on `add`."""
        camera = self.camera(code)
        before = camera_record(camera)
        changes = _given(changes)
        if "onvif_host" in changes:  # a port given with the host replaces the stored one
            try:
                changes["onvif_host"], port = split_host_port(changes["onvif_host"])
            except ValueError as exc:
                raise RegistryError("input.field", field="onvif_host", reason=exc) from None
            if port is not None:
                changes.setdefault("onvif_port", port)
        for attr in ("rtsp_main", "rtsp_sub"):
            if attr in changes:
                changes[attr], user, password = split_url_credentials(changes[attr])
                if user is not None:
                    changes.setdefault("username", user)
                if password is not None and changes.get("password") in (None, MASK):
                    changes["password"] = password
        merged = CameraInput.model_validate(
            {**_input_from_record(before), **changes, "code": camera.code}
        )
        if not allow_duplicate_device:
            self._refuse_duplicate_device(merged, camera)
        password_changed = self._apply(camera, merged)
        after = camera_record(camera)
        changed = after != before or password_changed
        if changed:
            if password_changed:
                before["password"], after["password"] = MASK + " (old)", MASK + " (new)"
            self.audit("update", "camera", camera.code, before, after)
        return camera, changed

    def device_index(self) -> DeviceIndex:
        """The serials, stream URLs and ONVIF addresses of every registered camera."""
        index = DeviceIndex()
        rows = self.session.execute(
            select(Camera.code, Camera.serial, Camera.onvif_host, Camera.onvif_port,
                   Camera.rtsp_main, Camera.rtsp_sub)
        )  # fmt: skip
        for row in rows:  # the columns device_keys reads, without loading whole cameras
            index.add(row)
        return index

    def _refuse_duplicate_device(self, data: CameraInput, current: Camera | None = None) -> None:
        clash = self.device_index().find(data, current)
        if clash:
            raise Conflict("camera.problem", code=data.code, reason=clash)

    def decommission_camera(self, code: str, note: str | None = None) -> Camera:
        """Mark a camera decommissioned; it keeps its history and is no longer checked."""
        changes: dict[str, Any] = {"lifecycle": Lifecycle.DECOMMISSIONED}
        if note:
            changes["notes"] = note
        return self.update_camera(code, **changes)[0]

    def remove_camera(self, code: str) -> None:
        """Delete a camera record (for mistakes; `decommission` keeps history)."""
        camera = self.camera(code)
        self.audit("delete", "camera", code, before=camera_record(camera))
        self.session.delete(camera)

    def add_reference(
        self, camera: Camera, jpeg: bytes, size: tuple[int, int], kind: str = "day", note: str = "",
        *, provisional: bool = False, preset: str | None = None,
    ) -> ReferenceImage:  # fmt: skip
        """Store a new reference image for the camera (for one PTZ preset when `preset`),
        approved (by the actor) or provisional (learned by the monitor); older ones stay as
        history."""
        reference = ReferenceImage(
            camera_id=camera.id, kind=ReferenceKind(kind), jpeg=jpeg, width=size[0],
            height=size[1], approved_by=self.actor, note=note, provisional=provisional,
            preset=preset,
        )  # fmt: skip
        self.session.add(reference)
        after = {"kind": kind, "width": size[0], "height": size[1], "bytes": len(jpeg),
                 "provisional": provisional}  # fmt: skip
        if preset is not None:
            after["preset"] = preset
        self.audit("reference", "camera", camera.code, after=after | {"note": note})
        return reference

    def references(
        self, camera: Camera, kind: str | None = None, approved: bool = False
    ) -> list[ReferenceImage]:
        """Reference images of a camera (only approved ones if `approved`), the one in force
        first for each kind (REFERENCE_IN_FORCE_ORDER)."""
        query = select(ReferenceImage).where(ReferenceImage.camera_id == camera.id)
        if kind:
            query = query.where(ReferenceImage.kind == ReferenceKind(kind))
        if approved:
            query = query.where(ReferenceImage.provisional.is_(False))
        return list(self.session.scalars(query.order_by(*REFERENCE_IN_FORCE_ORDER)))

    # -- contacts ------------------------------------------------------------------------------
    def contacts(self) -> list[Contact]:
        query = select(Contact).options(
            joinedload(Contact.municipality), joinedload(Contact.maintainer)
        )
        return list(self.session.scalars(query.order_by(Contact.id)))

    def add_contact(self, data: ContactInput) -> Contact:
        """Add a recipient of notifications; a webhook secret is stored encrypted."""
        contact = Contact(
            **data.model_dump(exclude={"municipality", "maintainer", "secret"}),
            municipality=self.municipality(data.municipality) if data.municipality else None,
            maintainer=self.maintainer(data.maintainer) if data.maintainer else None,
            secret_encrypted=self.secrets.encrypt(data.secret) if data.secret else None,
        )
        self.session.add(contact)
        self.session.flush()
        self.audit("create", "contact", str(contact.id), after=contact_record(contact))
        return contact

    def update_contact(self, contact_id: int, changes: dict[str, Any]) -> Contact:
        """Change how a recipient is told (severity, language, level, digest, reports)."""
        contact = self.session.get(Contact, contact_id)
        if contact is None:
            raise NotFound("contact.unknown", id=contact_id)
        before = contact_record(contact)
        for name, value in _given(changes).items():
            setattr(contact, name, value)
        self.session.flush()
        self.audit(
            "update", "contact", str(contact_id), before=before, after=contact_record(contact)
        )
        return contact

    def remove_contact(self, contact_id: int) -> None:
        contact = self.session.get(Contact, contact_id)
        if contact is None:
            raise NotFound("contact.unknown", id=contact_id)
        self.audit("delete", "contact", str(contact_id), before=contact_record(contact))
        self.session.delete(contact)

    # -- maintenance windows --------------------------------------------------------------------
    def add_maintenance(self, data: MaintenanceInput) -> MaintenanceWindow:
        """Plan a maintenance window: alerts are silenced, checks go on."""
        window = MaintenanceWindow(
            scope=data.scope, starts_at=data.starts_at, ends_at=data.ends_at,
            reason=data.reason, planned_by=self.actor,
        )  # fmt: skip
        if data.scope is MaintenanceScope.CAMERA:
            window.camera_id = self.camera(data.target).id
        elif data.scope is MaintenanceScope.SITE:
            window.site_id = self.site(data.target, data.municipality).id
        else:
            window.municipality_id = self.municipality(data.target).id
        self.session.add(window)
        self.session.flush()
        self.audit("create", "maintenance", str(window.id), after=maintenance_record(window))
        return window

    def maintenance_windows(self) -> list[MaintenanceWindow]:
        query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at)
        return list(self.session.scalars(query))

    def remove_maintenance(self, window_id: int) -> None:
        window = self.session.get(MaintenanceWindow, window_id)
        if window is None:
            raise NotFound("maintenance.unknown", id=window_id)
        self.audit("delete", "maintenance", str(window_id), before=maintenance_record(window))
        self.session.delete(window)

    def password(self, camera: Camera) -> str | None:
        """The camera's password in clear, for talking to the camera only."""
        if not camera.password_encrypted:
            return None
        return self.secrets.decrypt(camera.password_encrypted)

    def _apply(self, camera: Camera, data: CameraInput) -> bool:
        """Copy validated input onto the camera; returns whether the password changed."""
        municipality = self.municipality(data.municipality)
        site = self.site(data.site, municipality.insee)
        camera.municipality, camera.site = municipality, site
        camera.municipality_id, camera.site_id = municipality.id, site.id
        for name in CAMERA_FIELDS:
            value = getattr(data, name)
            if value is not None:  # None means "keep what is there"
                setattr(camera, name, value)
        camera.name = camera.name or ""
        camera.maintainer = self.maintainer(data.maintainer) if data.maintainer else None
        if data.password is None or data.password == MASK:
            return False
        if camera.password_encrypted and self.secrets.decrypt(camera.password_encrypted) == (
            data.password
        ):
            return False
        camera.password_encrypted = self.secrets.encrypt(data.password)
        return True

    def is_unchanged(self, camera: Camera, data: CameraInput) -> bool:
        """Whether applying `data` would leave the camera as it is (for idempotent imports)."""
        current = _input_from_record(camera_record(camera))
        wanted = data.model_dump(exclude={"uplink"})
        for name, value in wanted.items():
            if name == "password":
                if value not in (None, MASK) and (
                    not camera.password_encrypted or self.password(camera) != value
                ):
                    return False
            elif name == "site":
                if value != camera.site.name and value != str(camera.site_id):
                    return False
            elif value is not None and _plain(value) != current.get(name):
                return False
        return True


def record_audit(
    session: Session, actor: str, action: str, entity: str, key: str, before=None, after=None
) -> None:
    """One entry of the audit trail (a write, a login): who, what, on which entity."""
    session.add(
        AuditEntry(
            actor=actor, action=action, entity=entity, entity_key=key, before=before, after=after
        )
    )


def contact_record(contact: Contact) -> dict[str, Any]:
    """The contact as plain values; its webhook secret and its URL's credentials are masked."""
    webhook = contact.channel == ContactChannel.WEBHOOK
    return {
        "id": contact.id,
        "name": contact.name,
        "channel": _plain(contact.channel),
        "address": redact_url(contact.address) if webhook else contact.address,
        "owner": (
            f"municipality {contact.municipality.insee}"
            if contact.municipality
            else f"maintainer {contact.maintainer.name}"
            if contact.maintainer
            else "supervision centre"
        ),
        "min_severity": _plain(contact.min_severity),
        "language": contact.language,
        "level": contact.level,
        "quiet_hours": _quiet_hours(contact),
        "digest": contact.digest,
        "reports": contact.reports,
        "secret": MASK if contact.secret_encrypted else None,
    }


def _quiet_hours(contact: Contact) -> str | None:
    if contact.quiet_from is None or contact.quiet_until is None:
        return None
    return f"{contact.quiet_from:%H:%M}-{contact.quiet_until:%H:%M}"


def maintenance_record(window: MaintenanceWindow) -> dict[str, Any]:
    """The maintenance window as plain values."""
    return {
        "id": window.id,
        "scope": _plain(window.scope),
        "camera_id": window.camera_id,
        "site_id": window.site_id,
        "municipality_id": window.municipality_id,
        "starts_at": _plain(window.starts_at),
        "ends_at": _plain(window.ends_at),
        "reason": window.reason,
        "planned_by": window.planned_by,
    }


def _given(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in changes.items() if value is not None}


def _input_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A camera record turned back into CameraInput fields."""
    return {key: value for key, value in record.items() if key != "site_id"}


def integrity_message(exc: IntegrityError) -> Message:
    """A short reason for a constraint violation the checks above did not catch."""
    return Message("database.refused", reason=str(exc.orig).splitlines()[0])


@dataclass(frozen=True)
class ReferenceInForce:
    """The reference a camera's pictures of one kind are judged against."""

    id: int
    provisional: bool
    jpeg: bytes | None = field(default=None, repr=False)  # None when not asked for


def references_in_force(
    session: Session, camera_ids: Any, images: bool = True
) -> dict[int, dict[str, ReferenceInForce]]:
    """Per camera, per key (day, night, or day@PRESET for a PTZ preset: `reference_key`), the
    reference in force (REFERENCE_IN_FORCE_ORDER); the pictures too if `images` (only theirs
    are read, not the history's)."""
    query = (
        select(ReferenceImage.id, ReferenceImage.camera_id, ReferenceImage.kind,
               ReferenceImage.preset, ReferenceImage.provisional)
        .where(ReferenceImage.camera_id.in_(list(camera_ids)))
        .order_by(*REFERENCE_IN_FORCE_ORDER)
    )  # fmt: skip
    chosen: dict[int, dict[str, Any]] = {}
    for row in session.execute(query):
        key = reference_key(str(row.kind.value), row.preset)
        chosen.setdefault(row.camera_id, {}).setdefault(key, row)
    jpegs: dict[int, bytes] = {}
    wanted = [row.id for kinds in chosen.values() for row in kinds.values()]
    if images and wanted:
        query = select(ReferenceImage.id, ReferenceImage.jpeg).where(ReferenceImage.id.in_(wanted))
        jpegs = {row.id: row.jpeg for row in session.execute(query)}
    return {
        camera_id: {kind: ReferenceInForce(row.id, row.provisional, jpegs.get(row.id))
                    for kind, row in kinds.items()}
        for camera_id, kinds in chosen.items()
    }  # fmt: skip
