"""Lists: cameras, incidents, sites, municipalities, contacts and maintenance windows, filtered,
sorted and paged in SQL within a Scope; the status wall's counts; one camera's state history.

The filter and page models are pydantic, so the web validates query strings with them and the
OpenAPI describes them; the command line builds the same models. Every list answers
`{"items": [...], "total": N, "limit": L, "offset": O}` in a stable order (each sort ends on a
unique key), so walking the pages gives every row once. Nothing is filtered or counted in
Python: 10,000 cameras are one indexed query for the page and one for the count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.sql.functions import FunctionElement

from vp_monitor import conditions
from vp_monitor.alerts.models import Incident
from vp_monitor.conditions import SEVERITIES, StateName
from vp_monitor.db import utcnow
from vp_monitor.redaction import FieldsError
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
from vp_monitor.registry.schemas import Insee
from vp_monitor.registry.service import (
    camera_record,
    maintenance_record,
    municipality_record,
    site_record,
)
from vp_monitor.service.scope import Scope, incidents_in
from vp_monitor.texts import InvalidValue

MAX_LIMIT = 500
HISTORY_WINDOW = timedelta(days=1)  # a camera's state history, unless told otherwise
# Unresolved incidents, the constant written into the SQL: the partial index
# ix_incident_unresolved serves a query only when its condition is the index's own, which a
# bound parameter is not (PostgreSQL's generic plans of prepared statements, SQLite).
UNRESOLVED = Incident.status != literal_column("'resolved'")
# Worst first; states not listed (decommissioned) come last.
STATE_ORDER = {"down": 0, "degraded": 1, "unknown": 2, "maintenance": 3, "ok": 4}
LifecycleName = Literal["planned", "active", "maintenance", "decommissioned"]
SeverityName = Literal["critical", "major", "minor"]
ConditionName = Literal[tuple(conditions.CONDITIONS)]  # type: ignore[valid-type]


# Searched or compared text: a NUL character, which PostgreSQL refuses in any string, is bad
# input (a 4xx), not a database error.
NO_NUL = Field(pattern=r"^[^\x00]*$")
CameraCode = Annotated[str, NO_NUL, Field(max_length=40)]
# Numbers beyond the databases' integers are bad input, not an overflow inside the driver.
MAX_INTEGER = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_INTEGER)]


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """A moment in a query string is ISO 8601 text (pydantic would read "0.5" as a Unix time)."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise InvalidValue("value.iso_moment")
    return value


# A moment given in a query string or a filter: ISO 8601 with its UTC offset.
IsoMoment = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class Filters(BaseModel):
    """Base of the query models: an unknown parameter is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(Filters):
    """Which slice of a list: at most `limit` rows after skipping `offset`."""

    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_INTEGER)


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
    """Case-insensitive search of `q` in any of the columns (accented letters too); `%`, `_`
    and quotes are literal (a bound parameter, LIKE wildcards escaped)."""
    if not q:
        return None
    # An ASCII search needs no Unicode folding of the rows (SQLite's own lower() is faster).
    fold = func.lower if q.isascii() else lowered
    return or_(*(fold(func.coalesce(column, "")).contains(q.lower(), autoescape=True)
                 for column in columns))  # fmt: skip


class lowered(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """lower() of a text, Unicode-aware on both backends (SQLite's own folds ASCII only)."""

    type = String()
    inherit_cache = True
    name = "lowered"


@compiles(lowered)
def _lowered(element: lowered, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(lowered, "sqlite")
def _lowered_sqlite(element: lowered, compiler: Any, **kw: Any) -> str:
    return f"vp_lower({compiler.process(element.clauses, **kw)})"  # db.make_engine's


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

    state: list[StateName] | None = None  # any of these states (repeated, or comma-separated)
    municipality: Insee | None = None  # INSEE
    site: RowId | None = None  # site id
    condition: ConditionName | None = None  # among its current conditions
    severity: SeverityName | None = None  # its worst: open incident or current conditions
    maintainer: Annotated[str, NO_NUL, Field(max_length=120)] | None = None
    tag: Annotated[str, NO_NUL, Field(max_length=120)] | None = None
    lifecycle: LifecycleName | None = None
    q: Annotated[str, NO_NUL, Field(max_length=120)] | None = None  # in code, name or site address
    sort: CameraSort = "worst"

    @field_validator("state", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`state=down,degraded` as `state=down&state=degraded`."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            parts = [part for v in value for part in (v.split(",") if isinstance(v, str) else [v])
                     if part != ""]  # fmt: skip
            return parts or None  # `state=` is no filter
        return value


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
    return case(*((_has_severity(name), name) for name in SEVERITIES), else_=None)


def _severity_is(severity: str) -> ColumnElement[bool]:
    """Cameras whose severity (`camera_severity_column`) is this one, worse ones tested only
    when needed (the condition for `critical` is one test)."""
    worse = SEVERITIES[: SEVERITIES.index(severity)]
    return and_(_has_severity(severity, per_row=False),
                *(~_has_severity(name, per_row=False) for name in worse))  # fmt: skip


def _has_severity(severity: str, per_row: bool = True) -> ColumnElement[bool]:
    """Whether a camera has an unresolved incident or a current condition this severe;
    `per_row`: probed camera by camera (for one page), else the set of such cameras is read
    once (to filter the fleet)."""
    from vp_monitor.monitor.models import CameraStatus

    unresolved = (UNRESOLVED, Incident.severity == severity)
    if per_row:
        incident = exists().where(Incident.camera_id == Camera.id, *unresolved)
    else:
        incident = Camera.id.in_(
            select(Incident.camera_id).where(Incident.camera_id.is_not(None), *unresolved)
        )
    named = sorted(conditions.names(severity=severity))
    # A camera never checked has no status row: its conditions are NULL, which is no.
    return or_(incident, func.coalesce(_has_any(CameraStatus.conditions, named), False))


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


def _camera_query(
    scope: Scope, filters: CameraFilters | None, *columns: Any, places: bool = False
) -> Select:
    """`columns` of the scope's cameras that pass the filters, in the order asked; `places`
    joins their site, municipality and maintainer (for the rows; filters need no join)."""
    from vp_monitor.monitor.models import CameraStatus

    filters = filters or CameraFilters()
    query = select(*columns).select_from(Camera)
    if places:
        query = query.join(Camera.site).join(Camera.municipality).outerjoin(Camera.maintainer)
    query = query.outerjoin(CameraStatus, CameraStatus.camera_id == Camera.id)
    towns = select(Municipality.id).where(Municipality.insee == filters.municipality)
    companies = select(Maintainer.id).where(Maintainer.name == filters.maintainer)
    addresses = _text_search(filters.q, Site.address)
    wanted = [
        filters.state is not None and _state_in(filters.state),
        filters.municipality and Camera.municipality_id.in_(towns),
        filters.site and Camera.site_id == filters.site,
        filters.condition and _has_any(CameraStatus.conditions, [filters.condition]),
        filters.severity and _severity_is(filters.severity),
        filters.maintainer and Camera.maintainer_id.in_(companies),
        filters.tag and _has_any(Camera.tags, [filters.tag]),
        filters.lifecycle and Camera.lifecycle == Lifecycle(filters.lifecycle),
        filters.q
        and or_(
            _text_search(filters.q, Camera.code, Camera.name),
            Camera.site_id.in_(select(Site.id).where(addresses)),
        ),  # fmt: skip
    ]
    return query.where(scope.cameras(), *_given(wanted)).order_by(*_camera_order(filters.sort))


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
    if page is None:
        query = _camera_query(scope, filters, *_camera_columns(), places=True)
        rows, total = _page_of(session, query, None, CAMERA_LOADS)
        return listing(_camera_items(session, rows), total, None)
    # The page's ids first, from the sort keys alone; then their rows, so that severity and
    # the wide columns are read for one page, not for the whole fleet.
    found, total = _page_of(session, _camera_query(scope, filters, Camera.id), page)
    return listing(camera_items(session, scope, [camera_id for (camera_id,) in found]), total,
                   page)  # fmt: skip


def camera_items(session: Session, scope: Scope, camera_ids: list[int]) -> list[dict[str, Any]]:
    """The list's items of these cameras of the scope, in the order of `camera_ids`."""
    if not camera_ids:
        return []
    query = _camera_query(scope, None, *_camera_columns(), places=True)
    # No ORDER BY: the rows are put in the page's order here (sorting in SQL by the list's
    # order, the worst state first, made SQLite's query 2.5 times slower).
    query = query.where(Camera.id.in_(camera_ids)).order_by(None).options(*CAMERA_LOADS)
    position = {camera_id: n for n, camera_id in enumerate(camera_ids)}
    return _camera_items(session, sorted(session.execute(query),
                                         key=lambda row: position[row[0].id]))  # fmt: skip


def _camera_columns() -> tuple[Any, ...]:
    from vp_monitor.monitor.models import CameraStatus

    return Camera, CameraStatus, camera_state_column(), camera_severity_column()


def _camera_items(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    incidents = open_camera_incidents(session, [camera.id for camera, *_ in rows])
    items = []
    for camera, current, state, severity in rows:
        incident = incidents.get(camera.id)
        items.append({
            **camera_record(camera),
            **status_fields(current),
            "state": state,
            "severity": severity,
            "incident": incident.id if incident else None,
            "incident_status": incident.status if incident else None,
            "acknowledged_by": incident.acknowledged_by if incident else None,
        })  # fmt: skip
    return items


def status_fields(current: Any) -> dict[str, Any]:
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
    query = select(Incident).where(UNRESOLVED, Incident.camera_id.is_not(None))
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
    municipality: Insee | None = None  # INSEE
    site: RowId | None = None  # site id
    camera: CameraCode | None = None  # whatever its case
    condition: ConditionName | None = None
    opened_from: IsoMoment | None = None  # opened at or after
    opened_to: IsoMoment | None = None  # opened before
    sort: IncidentSort = "newest"


def _incident_query(scope: Scope, filters: IncidentFilters) -> Select:
    status = filters.status
    of_camera = select(Camera.id).where(func.lower(Camera.code) == (filters.camera or "").lower())
    of_site = or_(
        Incident.site_id == filters.site,
        Incident.camera_id.in_(select(Camera.id).where(Camera.site_id == filters.site)),
    )
    wanted = [
        status == "unresolved" and UNRESOLVED,
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


def incident_records(
    session: Session, scope: Scope, filters: IncidentFilters | None, page: Page | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The records of one page of incidents and the list's total (`limit`: a first page longer
    than a Page allows, for the command line)."""
    from vp_monitor.service.views import incident_record

    query = _incident_query(scope, filters or IncidentFilters())
    if limit is not None:
        query = query.limit(limit)
    rows, total = _page_of(session, query, page)
    found = [incident for (incident,) in rows]
    # The page's cameras and sites in two queries; each record then reads them from the session
    # (which holds them while `loaded` does).
    loaded = _load(session, Camera, {i.camera_id for i in found}, Camera.municipality)
    loaded += _load(session, Site, {i.site_id for i in found}, Site.municipality)
    return [incident_record(session, incident) for incident in found], total


def list_incidents(
    session: Session,
    scope: Scope,
    filters: IncidentFilters | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """Incidents of the scope, newest first unless sorted otherwise."""
    return listing(*incident_records(session, scope, filters, page), page)


# -- sites, municipalities, contacts -----------------------------------------------------------
class SiteFilters(Filters):
    municipality: Insee | None = None  # INSEE
    uplink: Annotated[str, NO_NUL, Field(max_length=64)] | None = None
    q: Annotated[str, NO_NUL, Field(max_length=120)] | None = None  # in name or address
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
    departement: Annotated[str, NO_NUL, Field(max_length=3)] | None = None
    q: Annotated[str, NO_NUL, Field(max_length=120)] | None = None  # in INSEE code or name
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
    municipality: Insee | None = None  # INSEE
    maintainer: Annotated[str, NO_NUL, Field(max_length=120)] | None = None
    q: Annotated[str, NO_NUL, Field(max_length=120)] | None = None  # in name
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
    from vp_monitor.service.registry import shown_contact

    return listing([shown_contact(contact, scope) for (contact,) in rows], total, page)


# -- maintenance windows -----------------------------------------------------------------------
class MaintenanceFilters(Filters):
    camera: CameraCode | None = None  # windows on this camera itself
    site: RowId | None = None  # on this site itself
    municipality: Insee | None = None  # on the town
    active_from: IsoMoment | None = None  # windows still open at or after this moment
    active_to: IsoMoment | None = None  # windows started before this moment
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
    # Held while the records are made: the session finds them without a query each.
    loaded = _load(session, Camera, {w.camera_id for w in windows}, Camera.site,
                   Camera.municipality)  # fmt: skip
    loaded += _load(session, Site, {w.site_id for w in windows}, Site.municipality)
    loaded += _load(session, Municipality, {w.municipality_id for w in windows})
    return listing([maintenance_item(session, window) for window in windows], total, page)


def _load(session: Session, table: Any, ids: set[int | None], *related: Any) -> list[Any]:
    """Rows of `table` in one query, so that `session.get` finds them while the caller holds
    the list (the session keeps only weak references)."""
    ids.discard(None)
    if not ids:
        return []
    options = [selectinload(r) for r in related]
    return list(session.scalars(select(table).options(*options).where(table.id.in_(ids))))


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
    start: datetime | None = None,
    end: datetime | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """The state transitions of one camera of the scope between `start` (default: a day
    before `end`) and `end` (default: now), oldest first, with the state in force at `start`
    (None when none was recorded shortly before).

    Each check record holds the camera's confirmed state (monitor/models.py); a transition is
    a record whose state differs from the previous record's, found by a window function.
    """
    from vp_monitor.monitor.availability import LOOKBACK
    from vp_monitor.monitor.models import CheckRecord
    from vp_monitor.service.views import find_camera

    camera = find_camera(session, scope, code)
    end = _utc(end) if end else utcnow()
    start = _utc(start) if start else end - HISTORY_WINDOW
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


# -- query strings: a list's filters and its page in one model ---------------------------------
# Each is both its filters and a Page: `list_cameras(session, scope, query, query)`.
class CameraQuery(CameraFilters, Page):
    """The query string of the camera list."""


class IncidentQuery(IncidentFilters, Page):
    """The query string of the incident list."""


class SiteQuery(SiteFilters, Page):
    """The query string of the site list."""


class MunicipalityQuery(MunicipalityFilters, Page):
    """The query string of the municipality list."""


class ContactQuery(ContactFilters, Page):
    """The query string of the contact list."""


class MaintenanceQuery(MaintenanceFilters, Page):
    """The query string of the maintenance window list."""


class HistoryQuery(Page):
    """The query string of a camera's state history: `from` and `to` (ISO 8601; default: the
    last day)."""

    model_config = ConfigDict(populate_by_name=True)

    start: IsoMoment | None = Field(None, alias="from")
    end: IsoMoment | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _in_order(self) -> HistoryQuery:
        if self.start and self.end and _utc(self.start) >= _utc(self.end):
            raise FieldsError(("from", "to"), "value.window_order")
        return self
