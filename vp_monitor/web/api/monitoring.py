"""Monitoring: a camera's state and availability, one incident (acknowledge, resolve), and
maintenance windows. Lists with filters are the lists' module's; these are single objects and
the writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from vp_monitor.conditions import CONDITIONS
from vp_monitor.registry.schemas import MaintenanceInput
from vp_monitor.service import commands, views
from vp_monitor.service.list_models import IncidentFields
from vp_monitor.service.lists import IsoMoment, MaintenanceQuery, list_maintenance
from vp_monitor.texts import Texts
from vp_monitor.web.call import Call
from vp_monitor.web.errors import ApiError
from vp_monitor.web.routes import EVERYONE, OPERATORS, Route

DEFAULT_WINDOW = timedelta(hours=24)  # availability without `from`: the last day
LARGEST_ID = 2**31 - 1  # the database's integer ids: a larger one is missing, not an error


# -- shared answers ----------------------------------------------------------------------------
class ConditionOut(BaseModel):
    """One condition as people read it, in the caller's language."""

    name: str
    label: str
    severity: str | None  # its default severity (conditions.py); None for an unknown name


class MetricOut(BaseModel):
    """One measure of a check, with its label in the caller's language."""

    name: str
    label: str
    value: float | None  # None: not a finite number


def conditions_out(names: list[str] | frozenset[str], texts: Texts) -> list[ConditionOut]:
    """Condition names with their labels and severities, in name order."""
    return [
        ConditionOut(
            name=name,
            label=texts.condition(name),
            severity=CONDITIONS[name].severity if name in CONDITIONS else None,
        )
        for name in sorted(names)
    ]


def metrics_out(metrics: dict[str, Any], texts: Texts) -> list[MetricOut]:
    """Numeric measures with their labels, in name order (anything else is left out)."""
    found = []
    for name, value in sorted(metrics.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        finite = value if value == value and abs(value) != float("inf") else None
        found.append(MetricOut(name=name, label=texts.metric(name), value=finite))
    return found


def caller_texts(call: Call) -> Texts:
    """The catalogue in the caller's language."""
    from vp_monitor.web.app import texts_for

    return texts_for(call.request)


# -- camera state ------------------------------------------------------------------------------
class OpenIncident(BaseModel):
    id: str
    status: str
    acknowledged_by: str | None
    url: str


class CameraStateOut(BaseModel):
    """What the monitor believes about one camera now."""

    camera: str
    name: str | None
    site: str
    municipality: str  # INSEE code
    state: str
    state_label: str
    since: datetime | None  # in this state since
    last_check: datetime | None
    conditions: list[ConditionOut]
    metrics: list[MetricOut]  # of the latest check
    incident: OpenIncident | None  # the open (or acknowledged) incident
    # The references its pictures are judged against, by kind (day, night): approved, or
    # provisional (learned by the monitor until one is approved); a kind without one is absent.
    references: dict[Literal["day", "night"], Literal["approved", "provisional"]]


async def get_camera_state(call: Call) -> CameraStateOut:
    """A camera's state, open conditions with their labels, latest metrics, open incident."""
    detail = await call.app.in_registry(
        lambda registry: views.camera_detail(registry.session, call.scope, call.path("code"))
    )
    texts = caller_texts(call)
    incident = None
    if detail["incident"]:
        incident = OpenIncident(
            id=detail["incident"], status=detail["incident_status"],
            acknowledged_by=detail["acknowledged_by"],
            url=f"/api/v1/incidents/{detail['incident']}",
        )  # fmt: skip
    return CameraStateOut(
        camera=detail["code"], name=detail["name"], site=detail["site"],
        municipality=detail["municipality"], state=detail["state"],
        state_label=texts.state(detail["state"]), since=detail["since"],
        last_check=detail["last_check"], conditions=conditions_out(detail["conditions"], texts),
        metrics=metrics_out(detail["metrics"], texts), incident=incident,
        references=detail["references"],
    )  # fmt: skip


# -- availability ------------------------------------------------------------------------------
class AvailabilityQuery(BaseModel):
    """The window measured: `from` (default: 24 hours before `to`) to `to` (default: now; a
    later end is measured up to now, a window still to come has no figures). ISO 8601 with a
    UTC offset."""

    model_config = ConfigDict(extra="forbid")

    start: IsoMoment | None = Field(None, alias="from")
    end: IsoMoment | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _window(self):
        self.end = self.end or datetime.now(UTC)
        self.start = self.start or self.end - DEFAULT_WINDOW
        return self


class AvailabilityRecord(BaseModel):
    """Share of the window a camera had usable video, maintenance excluded."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    camera: str
    site: str
    municipality: str  # INSEE code
    availability_pct: float | None  # None: nothing recorded in the window
    down_min: float
    degraded_min: float
    maintenance_min: float
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class AvailabilityOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    items: list[AvailabilityRecord]


async def _availability(call: Call, camera: str | None) -> AvailabilityOut:
    query: AvailabilityQuery = call.query
    items = await call.app.in_registry(
        lambda registry: views.availability_records(
            registry.session, call.scope, query.start, query.end, camera
        )
    )
    return AvailabilityOut(start=query.start, end=query.end, items=items)


async def get_camera_availability(call: Call) -> AvailabilityOut:
    """One camera's availability over a window."""
    return await _availability(call, call.path("code"))


async def get_availability(call: Call) -> AvailabilityOut:
    """The availability of every camera of the caller's scope over a window."""
    return await _availability(call, None)


# -- incidents ---------------------------------------------------------------------------------
class NotificationOut(BaseModel):
    """One notification owed about the incident; the recipient masked."""

    event: str | None
    channel: str
    contact: str
    recipient: str | None
    status: str
    sent_at: datetime | None
    queued_at: datetime | None


class IncidentOut(IncidentFields):
    """One incident with its camera and place, its figures and the notifications sent."""

    conditions: list[ConditionOut]  # labelled in the caller's language
    metrics: list[MetricOut]  # of the check that opened it, labelled
    resolved_by: str | None  # who resolved it by hand (None: the monitor, or not resolved)
    resolution_note: str | None
    evidence: str | None  # the address of its evidence frame (JPEG), None without one
    notifications: list[NotificationOut]


async def get_incident(call: Call) -> IncidentOut:
    """One incident of the caller's scope, by id or unambiguous prefix."""
    record = await call.app.in_registry(
        lambda registry: views.incident_detail(
            registry.session, call.scope, call.path("incident_id")
        )
    )
    texts = caller_texts(call)
    evidence = record.pop("evidence_jpeg")
    del record["evidence_bytes"]  # the address below says more
    record["evidence"] = f"/api/v1/incidents/{record['id']}/evidence" if evidence else None
    record["conditions"] = conditions_out(record["conditions"], texts)
    record["metrics"] = metrics_out(record["metrics"], texts)
    return IncidentOut.model_validate(record)


class NoteInput(BaseModel):
    """What is done about the incident, for the audit trail and the recipients."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=2000)


class IncidentActionOut(BaseModel):
    """An incident acknowledged or resolved: its status before and now, who did it."""

    incident: str
    status_before: str
    status: str
    by: str
    changed: bool  # False: it was not in a state to change (acknowledged or resolved already)


async def acknowledge_incident(call: Call) -> IncidentActionOut:
    """Acknowledge an incident with a note: stops escalation and reminders, tells the
    recipients; municipalities and maintainers acknowledge their own incidents."""
    done = await commands.acknowledge(
        call.app, call.path("incident_id"), call.body.note, call.scope, call.actor
    )
    changed = done.status_before == "open"
    status = "acknowledged" if changed else done.status_before
    return IncidentActionOut(incident=done.incident_id, status_before=done.status_before,
                             status=status, by=done.by, changed=changed)  # fmt: skip


async def resolve_incident(call: Call) -> IncidentActionOut:
    """Resolve an incident by hand with a note (kept in the audit trail); the monitor opens it
    again if the camera is still in trouble."""
    done = await commands.resolve(call.app, call.path("incident_id"), call.body.note, call.scope,
                                  call.actor)  # fmt: skip
    changed = done.status_before != "resolved"
    return IncidentActionOut(incident=done.incident_id, status_before=done.status_before,
                             status="resolved", by=done.by, changed=changed)  # fmt: skip


# -- maintenance windows -----------------------------------------------------------------------
class MaintenanceOut(BaseModel):
    """A maintenance window: alerts are silenced on its target, checks go on."""

    id: int
    scope: str  # camera | site | municipality
    camera: str | None
    site: str | None
    municipality: str | None
    insee: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    planned_by: str | None


class MaintenanceList(BaseModel):
    items: list[MaintenanceOut]
    total: int
    limit: int | None
    offset: int


async def list_maintenance_windows(call: Call) -> MaintenanceList:
    """The maintenance windows of the caller's scope, by start."""
    query: MaintenanceQuery = call.query
    return await call.app.in_registry(
        lambda registry: list_maintenance(registry.session, call.scope, query, query)
    )


def _window_id(call: Call) -> int:
    """The window id of the path; anything but a number a window may have is not found."""
    given = call.path("window_id")
    if not (given.isascii() and given.isdigit()) or int(given) > LARGEST_ID:
        raise ApiError(404, "maintenance.unknown", id=given[:20])
    return int(given)


async def get_maintenance_window(call: Call) -> MaintenanceOut:
    """One maintenance window of the caller's scope."""
    window_id = _window_id(call)
    return await call.app.in_registry(
        lambda registry: views.maintenance_detail(registry.session, call.scope, window_id)
    )


async def plan_maintenance_window(call: Call) -> MaintenanceOut:
    """Plan a maintenance window on a camera, a site or a municipality."""
    window_id = await commands.plan_maintenance(call.app, call.body, call.scope, call.actor)
    return await call.app.in_registry(
        lambda registry: views.maintenance_detail(registry.session, call.scope, window_id)
    )


async def cancel_maintenance_window(call: Call) -> None:
    """Remove a maintenance window."""
    await commands.cancel_maintenance(call.app, _window_id(call), call.scope, call.actor)


def links_by_id(parameter: str, *operations: str) -> dict[str, Any]:
    """OpenAPI links from a created object's `id` to operations taking it as `{parameter}`."""
    return {
        operation: {"operationId": operation, "parameters": {parameter: "$response.body#/id"}}
        for operation in operations
    }


TAGS = ("monitoring",)
ROUTES = [
    Route("GET", "/api/v1/cameras/{code}/state", get_camera_state, EVERYONE,
          "A camera's state, open conditions, latest metrics and open incident",
          response=CameraStateOut, tags=TAGS),
    Route("GET", "/api/v1/cameras/{code}/availability", get_camera_availability, EVERYONE,
          "A camera's availability over a window", query=AvailabilityQuery,
          response=AvailabilityOut, tags=TAGS),
    Route("GET", "/api/v1/availability", get_availability, EVERYONE,
          "Availability of every camera of the caller's scope over a window",
          query=AvailabilityQuery, response=AvailabilityOut, tags=TAGS),
    Route("GET", "/api/v1/incidents/{incident_id}", get_incident, EVERYONE,
          "One incident: place, conditions, metrics, notifications sent, evidence address",
          response=IncidentOut, tags=("incidents",)),
    Route("POST", "/api/v1/incidents/{incident_id}/acknowledge", acknowledge_incident, EVERYONE,
          "Acknowledge an incident with a note", body=NoteInput, response=IncidentActionOut,
          tags=("incidents",)),
    Route("POST", "/api/v1/incidents/{incident_id}/resolve", resolve_incident, OPERATORS,
          "Resolve an incident by hand with a note", body=NoteInput,
          response=IncidentActionOut, tags=("incidents",)),
    Route("GET", "/api/v1/maintenance", list_maintenance_windows, EVERYONE,
          "Maintenance windows of the caller's scope", query=MaintenanceQuery,
          response=MaintenanceList, tags=("maintenance",)),
    Route("POST", "/api/v1/maintenance", plan_maintenance_window, OPERATORS,
          "Plan a maintenance window", body=MaintenanceInput, response=MaintenanceOut,
          status=201, errors=(404,), tags=("maintenance",),
          extra={"links": links_by_id("window_id", "get_maintenance_window",
                                      "cancel_maintenance_window")}),
    Route("GET", "/api/v1/maintenance/{window_id}", get_maintenance_window, EVERYONE,
          "One maintenance window", response=MaintenanceOut, tags=("maintenance",)),
    Route("DELETE", "/api/v1/maintenance/{window_id}", cancel_maintenance_window,
          OPERATORS, "Remove a maintenance window", status=204, tags=("maintenance",)),
]  # fmt: skip
