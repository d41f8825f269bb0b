"""Every table of the application, imported once so Base.metadata is complete (Alembic, tests)."""

from vp_monitor.accounts.models import (  # noqa: F401, E402
    Account,
    ApiToken,
    LoginThrottle,
    WebSession,
)
from vp_monitor.alerts.models import Delivery, Incident, OutboxEvent  # noqa: F401, E402
from vp_monitor.events.models import ChangeEvent  # noqa: F401, E402
from vp_monitor.monitor.models import (  # noqa: F401, E402
    CameraStatus,
    CheckRecord,
    CheckSchedule,
    ReferenceCandidate,
)
from vp_monitor.monitor.nodes import Node, PeriodicJob  # noqa: F401, E402
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
