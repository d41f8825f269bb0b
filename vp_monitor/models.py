"""Every table of the application, imported once so Base.metadata is complete (Alembic, tests)."""

from vp_monitor.registry.models import (  # noqa: F401
    AuditEntry,
    Camera,
    Contact,
    Maintainer,
    MaintenanceWindow,
    Municipality,
    ReferenceImage,
    Site,
)
