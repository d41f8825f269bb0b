"""Who is looking (`Scope`, kept with the registry it filters) and the incidents it may see."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from vp_monitor.alerts.models import Incident
from vp_monitor.registry.scope import Scope

__all__ = ["Scope", "incidents_in"]


def incidents_in(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on `Incident` rows inside the scope: its cameras' incidents and its
    sites' outages."""
    return scope.subjects(Incident.camera_id, Incident.site_id)
