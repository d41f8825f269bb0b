"""What the lists of `service/lists.py` answer, as pydantic models: the web's response models
and the OpenAPI's schemas. A test validates every list's real answer against them
(tests/unit/test_lists.py), so the two cannot drift apart. The web's single objects (a camera,
site, municipality, recipient, incident, an exported camera) derive from these records, so a
field is declared once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from vp_monitor.conditions import StateName
from vp_monitor.service.lists import LifecycleName, SeverityName

Item = TypeVar("Item")


class Record(BaseModel):
    """A record as the service layer gives it: every field named, no other."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class Listing(Record, Generic[Item]):
    """One page of a list; `limit` None: the whole list."""

    items: list[Item]
    total: int = Field(ge=0)
    limit: int | None
    offset: int = Field(ge=0)


class CameraFields(Record):
    """A camera's registry record (registry.service.camera_record) but its password field:
    the web's single camera says only whether one is stored (web/api/registry.py CameraOut)."""

    code: str
    name: str
    site: str
    site_id: int
    municipality: str  # INSEE
    maintainer: str | None
    kind: str
    onvif_host: str | None
    onvif_port: int | None
    username: str | None
    rtsp_main: str | None  # never with credentials
    rtsp_sub: str | None
    expected_codec: str | None
    expected_width: int | None
    expected_height: int | None
    expected_fps: float | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    lifecycle: LifecycleName
    installed_on: date | None
    authorisation_number: str | None
    authorisation_expires: date | None
    tags: list[str]
    notes: str


class CameraRecord(CameraFields):
    """A camera's registry record: no password, only whether one is stored (`********`)."""

    password: str | None


class CameraItem(CameraRecord):
    """A camera with its current state, conditions, severity and open incident."""

    state: StateName
    conditions: list[str]
    since: datetime | None
    last_check: datetime | None
    severity: SeverityName | None
    incident: str | None
    incident_status: str | None
    acknowledged_by: str | None


class CameraDetail(CameraItem):
    """One camera (views.camera_detail): an item of the list, its latest check's figures, and
    its references in force by kind (day, night): approved, or provisional (learned by the
    monitor from healthy checks, until one is approved); a kind without one is absent."""

    metrics: dict[str, Any]
    references: dict[Literal["day", "night"], Literal["approved", "provisional"]]


class IncidentFields(Record):
    """What every view of an incident says (views.incident_record): the list's items add the
    evidence frame's size, the web's single incident (web/api/monitoring.py IncidentOut)
    labels its conditions and metrics and adds its resolution and notifications."""

    id: str
    kind: str
    status: str
    severity: str
    camera: str | None
    camera_name: str | None
    site: str | None
    municipality: str | None  # name
    insee: str | None
    conditions: list[str]
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledgement_note: str | None
    resolved_at: datetime | None
    reopened_count: int
    escalation_level: int
    silenced: bool
    parent_id: str | None
    metrics: dict[str, Any]
    worst: dict[str, Any] | None  # its worst moment: at, state, severity, conditions, metrics


class IncidentItem(IncidentFields):
    """An incident of a list: the evidence frame only as its size."""

    evidence_bytes: int


class SiteRecord(Record):
    """A site (registry.service.site_record)."""

    id: int
    name: str
    municipality: str  # INSEE
    address: str | None
    latitude: float | None
    longitude: float | None
    uplink: str | None


class SiteItem(SiteRecord):
    cameras: int  # of the scope


class MunicipalityRecord(Record):
    """A municipality (registry.service.municipality_record)."""

    insee: str
    name: str
    departement: str


class MunicipalityItem(MunicipalityRecord):
    cameras: int  # of the scope


class ContactFields(Record):
    """A recipient (service.registry.shown_contact) but its webhook secret field: the list
    shows it masked, the web's single recipient only whether one exists."""

    id: int
    name: str
    channel: str
    address: str  # masked outside the supervision centre
    owner: str  # "municipality INSEE", "maintainer NAME" or "supervision centre"
    min_severity: SeverityName
    language: str
    level: int
    quiet_hours: str | None  # HH:MM-HH:MM
    digest: bool
    reports: bool


class ContactItem(ContactFields):
    """A recipient: webhook secret and URL credentials masked."""

    secret: str | None


class MaintenanceItem(Record):
    id: int
    scope: str  # camera | site | municipality
    camera_id: int | None
    site_id: int | None
    municipality_id: int | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    planned_by: str
    camera: str | None
    site: str | None
    municipality: str | None  # name
    insee: str | None


class StateCounts(Record):
    total: int
    states: dict[StateName, int]


class MunicipalityCounts(StateCounts):
    municipality: str  # INSEE
    name: str


class SiteCounts(StateCounts):
    site_id: int
    site: str
    municipality: str  # INSEE


class StatusSummary(Record):
    """How many watched cameras are in each state: the whole scope, per municipality, per site."""

    fleet: StateCounts
    municipalities: list[MunicipalityCounts]
    sites: list[SiteCounts]


class Transition(Record):
    at: datetime
    state: StateName
    previous: StateName | None  # None: the first record seen
    availability: str | None  # up | degraded | down | unknown (older records: None)
    conditions: list[str]  # confirmed then


class StateHistory(Listing[Transition]):
    """One camera's state transitions over a window."""

    camera: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    state_at_start: StateName | None


CameraListing = Listing[CameraItem]
IncidentListing = Listing[IncidentItem]
SiteListing = Listing[SiteItem]
MunicipalityListing = Listing[MunicipalityItem]
ContactListing = Listing[ContactItem]
MaintenanceListing = Listing[MaintenanceItem]
