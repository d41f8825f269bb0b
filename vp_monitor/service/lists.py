"""Lists: cameras, incidents, sites, municipalities, contacts and maintenance windows, filtered,
sorted and paged in SQL within a Scope; the status wall's counts; one camera's state history.

The filter and page models are pydantic, so the web validates query strings with them and the
OpenAPI describes them; the command line builds the same models. Every list answers
`{"items": [...], "total": N, "limit": L, "offset": O}` in a stable order (each sort ends on a
unique key), so walking the pages gives every row once. Nothing is filtered or counted in
Python: 10,000 cameras are one indexed query for the page and one for the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.sql.functions import FunctionElement

from vp_monitor import conditions
from vp_monitor.alerts.models import Incident
from vp_monitor.conditions import SEVERITIES, StateName
from vp_monitor.registry.models import (
    Camera,
    Contact,
    ContactChannel,
    Lifecycle,
    Maintainer,
    MaintenanceWindow,
    Municipality,
    Site,
)
from vp_monitor.registry.service import (
    camera_record,
    contact_record,
    maintenance_record,
    municipality_record,
    site_record,
)
from vp_monitor.service.scope import Scope, incidents_in

MAX_LIMIT = 500
# Worst first; states not listed (decommissioned) come last.
STATE_ORDER = {"down": 0, "degraded": 1, "unknown": 2, "maintenance": 3, "ok": 4}
LifecycleName = Literal["planned", "active", "maintenance", "decommissioned"]
SeverityName = Literal["critical", "major", "minor"]
ConditionName = Literal[tuple(conditions.CONDITIONS)]  # type: ignore[valid-type]


class Filters(BaseModel):
    """Base of the query models: an unknown parameter is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(Filters):
    """Which slice of a list: at most `limit` rows after skipping `offset`."""

    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


def listing(items: list[dict[str, Any]], total: int, page: Page | None) -> dict[str, Any]:
    """One page of a list, as every list answers it (`limit` None: the whole list)."""
    return {
        "items": items,
        "total": total,
        "limit": page.limit if page else None,
        "offset": page.offset if page else 0,
    }


def _page_of(
    session: Session, query: Select, page: Page | None, options: Sequence[Any] = ()
) -> tuple[list[Any], int]:
    """The rows of one page of `query` (ordered, its loader `options` added for the rows only)
    and how many rows the whole list has."""
    counted = query.order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    query = query.options(*options)
    if page is not None:
        query = query.limit(page.limit).offset(page.offset)
    rows = list(session.execute(query))
    # A first page that holds the whole list is its own count: no second query.
    if page is None or (page.offset == 0 and len(rows) < page.limit):
        return rows, len(rows)
    return rows, session.scalar(counted) or 0


def _text_search(q: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """Case-insensitive search of `q` in any of the columns; `%`, `_` and quotes are literal
    (bound parameters, LIKE wildcards escaped)."""
    if not q:
        return None
    return or_(*(func.coalesce(column, "").icontains(q, autoescape=True) for column in columns))


class json_array_has_any(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """Whether a JSON array column holds any of the given strings, in SQL on both backends."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_has_any"


@compiles(json_array_has_any, "sqlite")
def _has_any_sqlite(element: json_array_has_any, compiler: Any, **kw: Any) -> str:
    column, *values = list(element.clauses)
    wanted = ", ".join(compiler.process(value, **kw) for value in values)
    array = compiler.process(column, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({array}) WHERE json_each.value IN ({wanted}))"


@compiles(json_array_has_any, "postgresql")
def _has_any_postgresql(element: json_array_has_any, compiler: Any, **kw: Any) -> str:
    column, *values = list(element.clauses)
    wanted = ", ".join(f"CAST({compiler.process(value, **kw)} AS TEXT)" for value in values)
    # `?|` is false on a JSON null or scalar, where jsonb_array_elements would raise.
    return f"(CAST({compiler.process(column, **kw)} AS JSONB) ?| ARRAY[{wanted}])"


def _has_any(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    return json_array_has_any(column, *values) if values else literal(False)


# -- cameras -----------------------------------------------------------------------------------
CameraSort = Literal[
    "worst", "code", "-code", "name", "-name", "since", "-since", "last_check", "-last_check"
]


class CameraFilters(Filters):
    """Which cameras: every given filter must hold."""

    state: list[StateName] | None = None  # any of these states
    municipality: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # INSEE
    site: int | None = Field(None, ge=1)  # site id
    condition: ConditionName | None = None  # among its current conditions
    severity: SeverityName | None = None  # its worst: open incident or current conditions
    maintainer: str | None = Field(None, max_length=120)
    tag: str | None = Field(None, max_length=120)
    lifecycle: LifecycleName | None = None
    q: str | None = Field(None, max_length=120)  # in code, name or site address
    sort: CameraSort = "worst"


def camera_state_column() -> ColumnElement[str]:
    """A camera's state as people see it: decommissioned from its lifecycle at once, unknown
    before its first check."""
    from vp_monitor.monitor.models import CameraStatus

    return case(
        (Camera.lifecycle == Lifecycle.DECOMMISSIONED, "decommissioned"),
        else_=func.coalesce(CameraStatus.state, "unknown"),
    )


def _state_in(states: Sequence[str]) -> ColumnElement[bool]:
    """Cameras in any of these states, written so that an index on the state can serve."""
    from vp_monitor.monitor.models import CameraStatus

    live = [state for state in states if state not in ("unknown", "decommissioned")]
    shown = [CameraStatus.state.in_(live)] if live else []
    if "unknown" in states:
        shown.append(or_(CameraStatus.state.is_(None), CameraStatus.state == "unknown"))
    watched = or_(*shown) if shown else literal(False)
    found = and_(Camera.lifecycle != Lifecycle.DECOMMISSIONED, watched)
    if "decommissioned" in states:
        found = or_(found, Camera.lifecycle == Lifecycle.DECOMMISSIONED)
    return found


def camera_severity_column() -> ColumnElement[str | None]:
    """A camera's severity: the worst of its unresolved incidents' and of its current
    conditions' (conditions.py), None when it has neither."""
    from vp_monitor.monitor.models import CameraStatus

    def has(severity: str) -> ColumnElement[bool]:
        incident = exists().where(
            Incident.camera_id == Camera.id,
            Incident.status != "resolved",
            Incident.severity == severity,
        )
        named = sorted(conditions.names(severity=severity))
        return or_(incident, _has_any(CameraStatus.conditions, named))

    return case(*((has(severity), severity) for severity in SEVERITIES), else_=None)


def _camera_order(sort: str) -> list[Any]:
    from vp_monitor.monitor.models import CameraStatus

    key = sort.lstrip("-")
    if key == "worst":
        columns = [case(STATE_ORDER, value=camera_state_column(), else_=len(STATE_ORDER))]
    else:
        column = {"code": Camera.code, "name": Camera.name, "since": CameraStatus.since,
                  "last_check": CameraStatus.last_check_at}[key]  # fmt: skip
        columns = [(column.desc() if sort.startswith("-") else column.asc()).nulls_last()]
    return [*columns, Camera.code, Camera.id]  # codes are unique: a stable order


def _camera_query(scope: Scope, filters: CameraFilters) -> Select:
    from vp_monitor.monitor.models import CameraStatus

    query = (
        select(Camera, CameraStatus, camera_state_column(), camera_severity_column())
        .join(Camera.site)
        .join(Camera.municipality)
        .outerjoin(Camera.maintainer)
        .outerjoin(CameraStatus, CameraStatus.camera_id == Camera.id)
        .where(scope.cameras())
    )
    wanted = [
        filters.state is not None and _state_in(filters.state),
        filters.municipality and Municipality.insee == filters.municipality,
        filters.site and Camera.site_id == filters.site,
        filters.condition and _has_any(CameraStatus.conditions, [filters.condition]),
        filters.severity and camera_severity_column() == filters.severity,
        filters.maintainer and Maintainer.name == filters.maintainer,
        filters.tag and _has_any(Camera.tags, [filters.tag]),
        filters.lifecycle and Camera.lifecycle == Lifecycle(filters.lifecycle),
        _text_search(filters.q, Camera.code, Camera.name, Site.address),
    ]
    return query.where(*_given(wanted)).order_by(*_camera_order(filters.sort))


CAMERA_LOADS = (
    contains_eager(Camera.site),
    contains_eager(Camera.municipality),
    contains_eager(Camera.maintainer),
)


def list_cameras(
    session: Session, scope: Scope, filters: CameraFilters | None = None, page: Page | None = None
) -> dict[str, Any]:
    """Cameras of the scope with their registry record, current state, conditions, severity
    and open incident; `page` None is the whole list."""
    query = _camera_query(scope, filters or CameraFilters())
    rows, total = _page_of(session, query, page, CAMERA_LOADS)
    incidents = open_camera_incidents(session, [camera.id for camera, *_ in rows])
    items = []
    for camera, current, state, severity in rows:
        incident = incidents.get(camera.id)
        items.append({
            **camera_record(camera),
            **camera_state(current),
            "state": state,
            "severity": severity,
            "incident": incident.id if incident else None,
            "incident_status": incident.status if incident else None,
            "acknowledged_by": incident.acknowledged_by if incident else None,
        })  # fmt: skip
    return listing(items, total, page)


def camera_state(current: Any) -> dict[str, Any]:
    """What the monitor last said about a camera (its CameraStatus row, or None)."""
    return {
        "state": current.state if current else "unknown",
        "conditions": list(current.conditions or []) if current else [],
        "since": current.since if current else None,
        "last_check": current.last_check_at if current else None,
    }


def open_camera_incidents(
    session: Session, camera_ids: list[int] | None = None
) -> dict[int, Incident]:
    """Each camera's unresolved incident (the newest, should there be several)."""
    query = select(Incident).where(Incident.status != "resolved", Incident.camera_id.is_not(None))
    if camera_ids is not None:
        if not camera_ids:
            return {}
        query = query.where(Incident.camera_id.in_(camera_ids))
    return {i.camera_id: i for i in session.scalars(query.order_by(Incident.opened_at))}


# -- status wall summary -----------------------------------------------------------------------
def status_summary(session: Session, scope: Scope) -> dict[str, Any]:
    """How many cameras of the scope are in each state: per site, per municipality and for
    the whole scope (decommissioned cameras are not watched: not counted). One GROUP BY."""
    from vp_monitor.monitor.models import CameraStatus

    state = camera_state_column()
    query = (
        select(Municipality.insee, Municipality.name, Site.id, Site.name, state, func.count())
        .select_from(Camera)
        .join(Camera.site)
        .join(Camera.municipality)
        .outerjoin(CameraStatus, CameraStatus.camera_id == Camera.id)
        .where(scope.cameras(), Camera.lifecycle != Lifecycle.DECOMMISSIONED)
        .group_by(Municipality.insee, Municipality.name, Site.id, Site.name, state)
        .order_by(Municipality.insee, Site.name, Site.id, state)
    )
    sites: dict[int, dict[str, Any]] = {}
    towns: dict[str, dict[str, Any]] = {}
    fleet = _counts()
    for insee, town_name, site_id, site_name, state_name, count in session.execute(query):
        town = towns.setdefault(insee, {"municipality": insee, "name": town_name, **_counts()})
        site = sites.setdefault(site_id, {"site_id": site_id, "site": site_name,
                                          "municipality": insee, **_counts()})  # fmt: skip
        for record in (site, town, fleet):
            record["states"][state_name] = record["states"].get(state_name, 0) + count
            record["total"] += count
    return {"fleet": fleet, "municipalities": list(towns.values()), "sites": list(sites.values())}


def _counts() -> dict[str, Any]:
    return {"total": 0, "states": {}}


# -- incidents ---------------------------------------------------------------------------------
IncidentSort = Literal["newest", "oldest", "severity"]


class IncidentFilters(Filters):
    """Which incidents: every given filter must hold."""

    status: Literal["open", "acknowledged", "resolved", "unresolved"] | None = None
    severity: SeverityName | None = None
    municipality: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # INSEE
    site: int | None = Field(None, ge=1)  # site id
    camera: str | None = Field(None, max_length=40)  # camera code, whatever its case
    condition: ConditionName | None = None
    opened_from: datetime | None = None  # opened at or after
    opened_to: datetime | None = None  # opened before
    sort: IncidentSort = "newest"


def _incident_query(scope: Scope, filters: IncidentFilters) -> Select:
    status = filters.status
    of_camera = select(Camera.id).where(func.lower(Camera.code) == (filters.camera or "").lower())
    of_site = or_(
        Incident.site_id == filters.site,
        Incident.camera_id.in_(select(Camera.id).where(Camera.site_id == filters.site)),
    )
    wanted = [
        status == "unresolved" and Incident.status != "resolved",
        status not in (None, "unresolved") and Incident.status == status,
        filters.severity and Incident.severity == filters.severity,
        # A municipality is a narrower scope: the same condition, written once.
        filters.municipality and incidents_in(Scope.of_municipalities([filters.municipality])),
        filters.site and of_site,
        filters.camera and Incident.camera_id.in_(of_camera),
        filters.condition and _has_any(Incident.conditions, [filters.condition]),
        filters.opened_from and Incident.opened_at >= _utc(filters.opened_from),
        filters.opened_to and Incident.opened_at < _utc(filters.opened_to),
    ]
    query = select(Incident).where(incidents_in(scope), *_given(wanted))
    if filters.sort == "severity":
        rank = case({name: i for i, name in enumerate(SEVERITIES)}, value=Incident.severity,
                    else_=len(SEVERITIES))  # fmt: skip
        order = [rank, Incident.opened_at.desc()]
    else:
        order = [Incident.opened_at.desc() if filters.sort == "newest" else Incident.opened_at]
    return query.order_by(*order, Incident.id)  # ids are unique: a stable order


def _given(conditions: list[Any]) -> list[ColumnElement[bool]]:
    """The filters that were given (`value and condition` is None, False or '' otherwise)."""
    return [c for c in conditions if isinstance(c, ColumnElement)]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def incident_rows(
    session: Session, scope: Scope, filters: IncidentFilters | None, page: Page | None = None,
    limit: int | None = None,
) -> tuple[list[Incident], int]:  # fmt: skip
    """The incidents of one page and the list's total (`limit`: a first page longer than a
    Page allows, for the command line)."""
    query = _incident_query(scope, filters or IncidentFilters())
    if limit is not None:
        query = query.limit(limit)
    rows, total = _page_of(session, query, page)
    found = [incident for (incident,) in rows]
    # The page's cameras and sites in two queries, so each record reads them from the session.
    camera_ids = {i.camera_id for i in found if i.camera_id}
    site_ids = {i.site_id for i in found if i.site_id}
    if camera_ids:
        session.scalars(select(Camera).options(selectinload(Camera.municipality))
                        .where(Camera.id.in_(camera_ids))).all()  # fmt: skip
    if site_ids:
        session.scalars(select(Site).options(selectinload(Site.municipality))
                        .where(Site.id.in_(site_ids))).all()  # fmt: skip
    return found, total


def list_incidents(
    session: Session,
    scope: Scope,
    filters: IncidentFilters | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """Incidents of the scope, newest first unless sorted otherwise."""
    from vp_monitor.service.views import incident_record

    found, total = incident_rows(session, scope, filters, page)
    return listing([incident_record(session, i) for i in found], total, page)


# -- sites, municipalities, contacts -----------------------------------------------------------
class SiteFilters(Filters):
    municipality: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # INSEE
    uplink: str | None = Field(None, max_length=64)
    q: str | None = Field(None, max_length=120)  # in name or address
    sort: Literal["name", "-name", "id"] = "name"


def list_sites(
    session: Session, scope: Scope, filters: SiteFilters | None = None, page: Page | None = None
) -> dict[str, Any]:
    """Sites of the scope, with how many cameras of the scope each holds."""
    filters = filters or SiteFilters()
    cameras = (
        select(func.count(Camera.id))
        .where(Camera.site_id == Site.id, scope.cameras())
        .correlate(Site)
        .scalar_subquery()
    )
    query = (
        select(Site, cameras)
        .join(Site.municipality)
        .where(
            scope.sites(),
            *_given(
                [
                    filters.municipality and Municipality.insee == filters.municipality,
                    filters.uplink and Site.uplink == filters.uplink,
                    _text_search(filters.q, Site.name, Site.address),
                ]
            ),
        )  # fmt: skip
    )
    name = Site.name.desc() if filters.sort == "-name" else Site.name
    query = query.order_by(*([] if filters.sort == "id" else [name]), Site.id)
    rows, total = _page_of(session, query, page, [contains_eager(Site.municipality)])
    items = [{**site_record(site), "cameras": count} for site, count in rows]
    return listing(items, total, page)


class MunicipalityFilters(Filters):
    departement: str | None = Field(None, max_length=3)
    q: str | None = Field(None, max_length=120)  # in INSEE code or name
    sort: Literal["insee", "name"] = "insee"


def list_municipalities(
    session: Session,
    scope: Scope,
    filters: MunicipalityFilters | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """Municipalities of the scope, with how many cameras of the scope each has."""
    filters = filters or MunicipalityFilters()
    cameras = (
        select(func.count(Camera.id))
        .where(Camera.municipality_id == Municipality.id, scope.cameras())
        .correlate(Municipality)
        .scalar_subquery()
    )
    query = select(Municipality, cameras).where(scope.towns(), *_given([
        filters.departement and Municipality.departement == filters.departement,
        _text_search(filters.q, Municipality.insee, Municipality.name),
    ]))  # fmt: skip
    order = Municipality.name if filters.sort == "name" else Municipality.insee
    rows, total = _page_of(session, query.order_by(order, Municipality.id), page)
    items = [{**municipality_record(town), "cameras": count} for town, count in rows]
    return listing(items, total, page)


class ContactFilters(Filters):
    channel: Literal["email", "webhook", "mqtt"] | None = None
    municipality: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # INSEE
    maintainer: str | None = Field(None, max_length=120)
    q: str | None = Field(None, max_length=120)  # in name
    sort: Literal["id", "name"] = "id"


def list_contacts(
    session: Session,
    scope: Scope,
    filters: ContactFilters | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """Recipients of the scope (webhook secrets and URL credentials masked)."""
    filters = filters or ContactFilters()
    query = (
        select(Contact)
        .outerjoin(Contact.municipality)
        .outerjoin(Contact.maintainer)
        .where(
            scope.contacts(),
            *_given(
                [
                    filters.channel and Contact.channel == ContactChannel(filters.channel),
                    filters.municipality and Municipality.insee == filters.municipality,
                    filters.maintainer and Maintainer.name == filters.maintainer,
                    _text_search(filters.q, Contact.name),
                ]
            ),
        )  # fmt: skip
    )
    order = [Contact.name] if filters.sort == "name" else []
    loads = [contains_eager(Contact.municipality), contains_eager(Contact.maintainer)]
    rows, total = _page_of(session, query.order_by(*order, Contact.id), page, loads)
    return listing([contact_record(contact) for (contact,) in rows], total, page)


# -- maintenance windows -----------------------------------------------------------------------
class MaintenanceFilters(Filters):
    camera: str | None = Field(None, max_length=40)  # windows on this camera itself
    site: int | None = Field(None, ge=1)  # on this site itself
    municipality: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # on the town
    active_from: datetime | None = None  # windows still open at or after this moment
    active_to: datetime | None = None  # windows started before this moment
    sort: Literal["starts_at", "-starts_at"] = "starts_at"


def list_maintenance(
    session: Session,
    scope: Scope,
    filters: MaintenanceFilters | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """Maintenance windows of the scope with the camera code, site and municipality names."""
    filters = filters or MaintenanceFilters()
    query = select(MaintenanceWindow).where(scope.maintenance_windows(), *_given([
        filters.camera and MaintenanceWindow.camera_id.in_(
            select(Camera.id).where(func.lower(Camera.code) == filters.camera.lower())),
        filters.site and MaintenanceWindow.site_id == filters.site,
        filters.municipality and MaintenanceWindow.municipality_id.in_(
            select(Municipality.id).where(Municipality.insee == filters.municipality)),
        filters.active_from and MaintenanceWindow.ends_at > _utc(filters.active_from),
        filters.active_to and MaintenanceWindow.starts_at < _utc(filters.active_to),
    ]))  # fmt: skip
    starts = MaintenanceWindow.starts_at
    order = starts.desc() if filters.sort == "-starts_at" else starts
    rows, total = _page_of(session, query.order_by(order, MaintenanceWindow.id), page)
    windows = [window for (window,) in rows]
    _load(session, Camera, {w.camera_id for w in windows}, Camera.site, Camera.municipality)
    _load(session, Site, {w.site_id for w in windows}, Site.municipality)
    _load(session, Municipality, {w.municipality_id for w in windows})
    return listing([maintenance_item(session, window) for window in windows], total, page)


def _load(session: Session, table: Any, ids: set[int | None], *related: Any) -> None:
    """Rows of `table` into the session in one query, so that `session.get` finds them."""
    ids.discard(None)
    if ids:
        options = [selectinload(r) for r in related]
        session.scalars(select(table).options(*options).where(table.id.in_(ids))).all()


def maintenance_item(session: Session, window: MaintenanceWindow) -> dict[str, Any]:
    """A maintenance window with the camera code, site and municipality names."""
    camera = session.get(Camera, window.camera_id) if window.camera_id else None
    place = session.get(Site, window.site_id) if window.site_id else None
    place = place or (camera.site if camera else None)
    town = session.get(Municipality, window.municipality_id) if window.municipality_id \
        else (place.municipality if place else None)  # fmt: skip
    return {
        **maintenance_record(window),
        "camera": camera.code if camera else None,
        "site": place.name if place else None,
        "municipality": town.name if town else None,
        "insee": town.insee if town else None,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
    }


# -- state history -----------------------------------------------------------------------------
def state_history(
    session: Session,
    scope: Scope,
    code: str,
    start: datetime,
    end: datetime,
    page: Page | None = None,
) -> dict[str, Any]:
    """The state transitions of one camera of the scope between `start` and `end`, oldest
    first, with the state in force at `start` (None when none was recorded shortly before).

    Each check record holds the camera's confirmed state (monitor/models.py); a transition is
    a record whose state differs from the previous record's, found by a window function.
    """
    from vp_monitor.monitor.availability import LOOKBACK
    from vp_monitor.monitor.models import CheckRecord
    from vp_monitor.service.views import find_camera

    camera = find_camera(session, scope, code)
    start, end = _utc(start), _utc(end)
    order = {"order_by": (CheckRecord.at, CheckRecord.id)}
    marks = (
        select(
            CheckRecord.id,
            CheckRecord.at,
            CheckRecord.state,
            CheckRecord.availability,
            func.lag(CheckRecord.state).over(**order).label("previous"),
        )
        .where(
            CheckRecord.camera_id == camera.id,
            CheckRecord.at >= start - LOOKBACK,
            CheckRecord.at < end,
        )
        .subquery()
    )
    changes = select(marks).where(or_(marks.c.previous.is_(None),
                                      marks.c.previous != marks.c.state))  # fmt: skip
    before = session.execute(
        changes.where(marks.c.at < start).order_by(marks.c.at.desc(), marks.c.id.desc()).limit(1)
    ).first()
    inside = changes.where(marks.c.at >= start).order_by(marks.c.at, marks.c.id)
    rows, total = _page_of(session, inside, page)
    confirmed = _confirmed_conditions(session, [row.id for row in rows])
    items = [{"at": row.at, "state": row.state, "previous": row.previous,
              "availability": row.availability, "conditions": confirmed.get(row.id, [])}
             for row in rows]  # fmt: skip
    return {
        **listing(items, total, page),
        "camera": camera.code,
        "from": start,
        "to": end,
        "state_at_start": before.state if before else None,
    }


def _confirmed_conditions(session: Session, record_ids: list[int]) -> dict[int, list[str]]:
    """The confirmed conditions written with these check records (their `detail`)."""
    from vp_monitor.monitor.models import CheckRecord

    if not record_ids:
        return {}
    query = select(CheckRecord.id, CheckRecord.detail).where(CheckRecord.id.in_(record_ids))
    return {i: list((detail or {}).get("confirmed") or []) for i, detail in session.execute(query)}
