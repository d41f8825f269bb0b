"""The registry's objects one at a time within a Scope: read one, write one, a camera's audit
trail, the scope's export. The web's registry routes and the command line call these.

Each function takes a Registry (one transaction, one actor) and the caller's Scope; an object
outside the scope is NotFound, the same answer as a missing one. Writes go through the
Registry, so they are validated and audited as the command line's are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from vp_monitor.redaction import masked_recipient
from vp_monitor.registry.models import Camera, Contact, Municipality, Site
from vp_monitor.registry.schemas import CODE, INSEE, CameraInput, ContactInput, SiteInput
from vp_monitor.registry.service import (
    NotFound,
    Registry,
    camera_record,
    contact_record,
    municipality_record,
    site_record,
)
from vp_monitor.registry.transfer import export_records
from vp_monitor.service.scope import Scope
from vp_monitor.service.views import find_camera


# -- finding one within the scope ------------------------------------------------------------
def find_municipality(registry: Registry, scope: Scope, insee: str) -> Municipality:
    """The municipality with this INSEE code inside the scope, or NotFound."""
    found = None
    if INSEE.match(insee.upper()):  # anything else names no municipality: no query
        query = select(Municipality).where(Municipality.insee == insee.upper(), scope.towns())
        found = registry.session.scalar(query)
    if found is None:
        raise NotFound("municipality.unknown", insee=insee)
    return found


def find_site(registry: Registry, scope: Scope, site_id: int) -> Site:
    """The site with this id inside the scope, or NotFound."""
    query = (
        select(Site).options(joinedload(Site.municipality)).where(Site.id == site_id, scope.sites())
    )
    found = registry.session.scalar(query)
    if found is None:
        raise NotFound("site.unknown", ref=str(site_id))
    return found


def find_scoped_camera(registry: Registry, scope: Scope, code: str) -> Camera:
    """The camera with this asset code (whatever its case) inside the scope, or NotFound."""
    if not CODE.match(code):  # no camera has such a code: no query
        raise NotFound("camera.unknown", code=code)
    return find_camera(registry.session, scope, code)


def find_contact(registry: Registry, scope: Scope, contact_id: int) -> Contact:
    """The recipient with this id inside the scope (a municipality's own), or NotFound."""
    query = (
        select(Contact)
        .options(joinedload(Contact.municipality), joinedload(Contact.maintainer))
        .where(Contact.id == contact_id, scope.contacts())
    )
    found = registry.session.scalar(query)
    if found is None:
        raise NotFound("contact.unknown", id=contact_id)
    return found


def _writable(scope: Scope, insee: str) -> None:
    """NotFound unless the scope may hold objects of this municipality."""
    if not scope.has_municipality(insee):
        raise NotFound("municipality.unknown", insee=insee)


# -- municipalities --------------------------------------------------------------------------
def municipality_view(registry: Registry, scope: Scope, insee: str) -> dict[str, Any]:
    return municipality_record(find_municipality(registry, scope, insee))


def add_municipality(registry: Registry, scope: Scope, data: Any, force: bool = False) -> dict:
    """Create a municipality (a MunicipalityInput): the supervision centre's."""
    _writable(scope, data.insee)
    return municipality_record(registry.add_municipality(data, force=force))


def update_municipality(
    registry: Registry, scope: Scope, insee: str, changes: dict[str, Any]
) -> dict[str, Any]:
    found = find_municipality(registry, scope, insee)
    return municipality_record(registry.update_municipality(found.insee, **changes))


def remove_municipality(registry: Registry, scope: Scope, insee: str) -> None:
    registry.remove_municipality(find_municipality(registry, scope, insee).insee)


# -- sites -----------------------------------------------------------------------------------
def site_view(registry: Registry, scope: Scope, site_id: int) -> dict[str, Any]:
    return site_record(find_site(registry, scope, site_id))


def add_site(registry: Registry, scope: Scope, data: SiteInput) -> dict[str, Any]:
    _writable(scope, data.municipality)
    return site_record(registry.add_site(data))


def update_site(
    registry: Registry, scope: Scope, site_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    found = find_site(registry, scope, site_id)
    # By name within its municipality (unique there): an id-looking name cannot be mistaken.
    updated = registry.update_site(found.name, found.municipality.insee, **changes)
    registry.session.flush()  # a name already used there is refused now, not at commit
    return site_record(updated)


def remove_site(registry: Registry, scope: Scope, site_id: int) -> None:
    found = find_site(registry, scope, site_id)
    registry.remove_site(found.name, found.municipality.insee)


# -- cameras ---------------------------------------------------------------------------------
def camera_view(registry: Registry, scope: Scope, code: str) -> dict[str, Any]:
    """The camera's registry record (password masked)."""
    return camera_record(find_scoped_camera(registry, scope, code))


def add_camera(
    registry: Registry, scope: Scope, data: CameraInput, allow_duplicate_device: bool = False
) -> dict[str, Any]:
    """Register a camera without asking it (as `camera add --no-probe` and imports do)."""
    _writable(scope, data.municipality)
    camera = registry.add_camera(data, allow_duplicate_device)
    registry.session.flush()
    return camera_record(camera)


def update_camera(
    registry: Registry,
    scope: Scope,
    code: str,
    changes: dict[str, Any],
    allow_duplicate_device: bool = False,
) -> dict[str, Any]:
    """Apply the given changes (None: keep) as `camera update` does; the camera's record."""
    found = find_scoped_camera(registry, scope, code)
    if changes.get("municipality"):
        _writable(scope, changes["municipality"])
    camera, _changed = registry.update_camera(found.code, allow_duplicate_device, **changes)
    registry.session.flush()
    return camera_record(camera)


def decommission_camera(
    registry: Registry, scope: Scope, code: str, note: str | None = None
) -> dict[str, Any]:
    found = find_scoped_camera(registry, scope, code)
    camera = registry.decommission_camera(found.code, note)
    registry.session.flush()
    return camera_record(camera)


def remove_camera(registry: Registry, scope: Scope, code: str) -> None:
    registry.remove_camera(find_scoped_camera(registry, scope, code).code)
    registry.session.flush()  # a camera still referred to is refused now, not at commit


def audit_changes(before: dict | None, after: dict | None) -> dict[str, dict[str, Any]]:
    """What an audit entry changed: field → {"before": old value, "after": new value}."""
    before, after = before or {}, after or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys}


def camera_audit(registry: Registry, scope: Scope, code: str) -> list[dict[str, Any]]:
    """The audit trail of one camera of the scope, oldest first: when, who, what, and each
    changed field's values before and after (secrets are masked when entries are written)."""
    camera = find_scoped_camera(registry, scope, code)
    return [
        {"at": entry.at, "actor": entry.actor, "action": entry.action,
         "changes": audit_changes(entry.before, entry.after)}
        for entry in registry.history("camera", camera.code)
    ]  # fmt: skip


def export_cameras(registry: Registry, scope: Scope) -> list[dict[str, Any]]:
    """The scope's cameras as import-compatible records (passwords a placeholder), by code."""
    query = (
        select(Camera)
        .options(
            joinedload(Camera.site), joinedload(Camera.municipality), joinedload(Camera.maintainer)
        )
        .where(scope.cameras())
        .order_by(Camera.code)
    )
    return export_records(registry.session.scalars(query))


# -- contacts --------------------------------------------------------------------------------
def shown_contact(contact: Contact, scope: Scope) -> dict[str, Any]:
    """A recipient as the scope may see it: outside the supervision centre its address is
    masked as an incident's recipients are (e-mail local part, URL credentials)."""
    record = contact_record(contact)
    if not scope.is_supervision:
        record["address"] = masked_recipient(record["channel"], contact.address)
    return record


def contact_view(registry: Registry, scope: Scope, contact_id: int) -> dict[str, Any]:
    return shown_contact(find_contact(registry, scope, contact_id), scope)


def add_contact(registry: Registry, scope: Scope, data: ContactInput) -> dict[str, Any]:
    _writable(scope, data.municipality or "")  # a town's own, or the supervision centre's
    return shown_contact(registry.add_contact(data), scope)


def update_contact(
    registry: Registry, scope: Scope, contact_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    find_contact(registry, scope, contact_id)
    return shown_contact(registry.update_contact(contact_id, changes), scope)


def remove_contact(registry: Registry, scope: Scope, contact_id: int) -> None:
    find_contact(registry, scope, contact_id)
    registry.remove_contact(contact_id)
