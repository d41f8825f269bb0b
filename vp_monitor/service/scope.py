"""Who is looking (`Scope`, kept with the registry it filters) and the incidents it may see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true

from vp_monitor.alerts.models import Incident
from vp_monitor.registry.models import Camera, Site
from vp_monitor.registry.scope import Scope

__all__ = ["Scope", "incidents_in"]


def incidents_in(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on `Incident` rows inside the scope: its cameras' incidents and its
    sites' outages."""
    if scope.is_supervision:
        return true()
    return or_(
        Incident.camera_id.in_(select(Camera.id).where(scope.cameras())),
        and_(Incident.camera_id.is_(None), Incident.site_id.in_(select(Site.id).where(
            scope.sites()))),
    )  # fmt: skip
