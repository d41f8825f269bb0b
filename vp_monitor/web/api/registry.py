"""The registry over HTTP: municipalities, sites, cameras and contacts one at a time (get,
create, update, remove, decommission), a camera's audit trail, camera import and export.

Reads answer every role within its scope (contacts: the supervision centre's roles, and a
municipality its own with addresses masked); writes are the technicians'. Writes go through
the Registry (vp_monitor.service.registry), so they are validated and audited as the command
line's are, under the caller's name. Lists are elsewhere (the lists' routes).
"""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from vp_monitor.redaction import redact_url
from vp_monitor.registry.schemas import (
    CameraInput,
    CameraUpdate,
    ContactInput,
    ContactUpdate,
    DecommissionInput,
    MunicipalityInput,
    MunicipalityUpdate,
    SiteInput,
    SiteUpdate,
)
from vp_monitor.registry.service import NotFound
from vp_monitor.registry.transfer import (
    COLUMNS,
    ImportPlan,
    apply_import,
    parse_rows,
    plan_import,
)
from vp_monitor.service import registry as records
from vp_monitor.service.list_models import (
    CameraFields,
    CameraRecord,
    ContactFields,
    MunicipalityRecord,
    Record,
    SiteRecord,
)
from vp_monitor.texts import Message, Texts
from vp_monitor.web.call import Call, read_body
from vp_monitor.web.errors import ApiError
from vp_monitor.web.openapi import ERROR_TEXT, REF
from vp_monitor.web.routes import EVERYONE, SUPERVISION, TECHNICIANS, Route

CONTACT_READERS = SUPERVISION | {"municipality"}
IMPORT_MEDIA_TYPES = ("text/csv", "application/json")
# A camera's code in an address: any but the two words that name the fleet's routes
# (/cameras/export, /cameras/import), so that those answer their own methods only.
CODE = "{code:(?!(?:export|import)$)[^/]+}"
MAX_ID = 2**31 - 1  # the largest id the database holds
COMMIT_MARGIN_S = 2.0  # an import still writing this close to the time limit is rolled back


# -- what the routes answer --------------------------------------------------------------------
class MunicipalityOut(MunicipalityRecord):
    """One municipality."""


class SiteOut(SiteRecord):
    """One site."""


class CameraOut(CameraFields):
    """A camera's registry record; its password is only said to exist."""

    has_password: bool

    @classmethod
    def of(cls, record: dict[str, Any]) -> CameraOut:
        """From a camera record (registry.service.camera_record)."""
        fields = {name: record.get(name) for name in cls.model_fields if name in record}
        fields.update(
            has_password=record["password"] is not None, tags=record["tags"] or [],
            rtsp_main=redact_url(record["rtsp_main"]), rtsp_sub=redact_url(record["rtsp_sub"]),
        )  # fmt: skip
        return cls.model_validate(fields)


class ContactOut(ContactFields):
    """A recipient; its webhook secret is only said to exist."""

    has_secret: bool

    @classmethod
    def of(cls, record: dict[str, Any]) -> ContactOut:
        """From a contact record (service.registry.shown_contact)."""
        fields = {name: value for name, value in record.items() if name != "secret"}
        return cls.model_validate({**fields, "has_secret": record["secret"] is not None})


class FieldChange(BaseModel):
    before: Any = None
    after: Any = None


class AuditEntryOut(BaseModel):
    at: datetime
    actor: str
    action: str  # create, update, delete, reference
    changes: dict[str, FieldChange]


class RowProblemOut(BaseModel):
    """One reason a row cannot be imported, in parts (a page shows them as a table)."""

    line: int  # the CSV line, or the JSON item's number
    column: str | None  # None: the row as a whole
    reason: str


class ImportReport(BaseModel):
    """What an import did, or would do with `dry_run`."""

    dry_run: bool
    skip_invalid: bool
    create: int
    update: int
    unchanged: int
    new_sites: int
    invalid_rows: int
    problems: list[str]  # the CLI's row errors: line (CSV) or item (JSON), column, reason
    rows: list[RowProblemOut]  # the same problems, each in parts
    created: list[str]  # the codes of the cameras created (or that would be)
    updated: list[str]
    written: bool


# One camera as `camera export` writes it, re-importable: its columns in their order, each
# typed as the camera record types it, but tags joined by ';' and the site's uplink beside them.
_EXPORT_TYPES = {name: field.annotation for name, field in CameraRecord.model_fields.items()}
_EXPORT_TYPES |= {"tags": str, "uplink": str | None}
ExportedCamera = create_model(
    "ExportedCamera",
    __base__=Record,
    __doc__="One camera as `camera export` writes it, re-importable: the password is a "
    "placeholder when one is stored, tags are joined by ';'.",
    **{column: (_EXPORT_TYPES[column], ...) for column in COLUMNS},
)
EXPORTED = TypeAdapter(list[ExportedCamera])


# -- query strings -----------------------------------------------------------------------------
class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MunicipalityCreateOptions(Options):
    force: bool = Field(False, description="Accept a code outside the official list shipped.")


class CameraWriteOptions(Options):
    allow_duplicate_device: bool = Field(
        False, description="Accept a serial, stream URL or ONVIF address another camera has "
        "(a shared encoder).",
    )  # fmt: skip


class ImportOptions(CameraWriteOptions):
    dry_run: bool = Field(False, description="Say what would change; write nothing.")
    skip_invalid: bool = Field(False, description="Write the valid rows even if some are bad.")


class ExportOptions(Options):
    format: Literal["csv", "json"] = "csv"
    excel: bool = Field(
        False, description="CSV for French Excel: a BOM, ';' separated (CSV only: JSON is "
        "the same either way).",
    )  # fmt: skip


# -- municipalities ----------------------------------------------------------------------------
async def get_municipality(call: Call) -> Any:
    return await call.in_registry(records.municipality_view, call.scope, call.path("insee"))


async def create_municipality(call: Call) -> Any:
    return await call.in_registry(records.add_municipality, call.scope, call.body, call.query.force)


async def update_municipality(call: Call) -> Any:
    return await call.in_registry(
        records.update_municipality, call.scope, call.path("insee"), _changes(call)
    )


async def delete_municipality(call: Call) -> None:
    await call.in_registry(records.remove_municipality, call.scope, call.path("insee"))


# -- sites -------------------------------------------------------------------------------------
async def get_site(call: Call) -> Any:
    return await call.in_registry(records.site_view, call.scope, _id(call, "site_id"))


async def create_site(call: Call) -> Any:
    return await call.in_registry(records.add_site, call.scope, call.body)


async def update_site(call: Call) -> Any:
    site_id = _id(call, "site_id")
    return await call.in_registry(records.update_site, call.scope, site_id, _changes(call))


async def delete_site(call: Call) -> None:
    await call.in_registry(records.remove_site, call.scope, _id(call, "site_id"))


# -- cameras -----------------------------------------------------------------------------------
async def get_camera(call: Call) -> CameraOut:
    return CameraOut.of(await call.in_registry(records.camera_view, call.scope, call.path("code")))


async def create_camera(call: Call) -> CameraOut:
    """Registered as given, without asking the camera (as `camera add --no-probe` and
    imports); a camera test before saving is the technician's routes'."""
    allow = call.query.allow_duplicate_device
    return CameraOut.of(await call.in_registry(records.add_camera, call.scope, call.body, allow))


async def update_camera(call: Call) -> CameraOut:
    code, allow = call.path("code"), call.query.allow_duplicate_device
    record = await call.in_registry(records.update_camera, call.scope, code, _changes(call), allow)
    return CameraOut.of(record)


async def decommission_camera(call: Call) -> CameraOut:
    code, note = call.path("code"), call.body.note
    return CameraOut.of(await call.in_registry(records.decommission_camera, call.scope, code, note))


async def delete_camera(call: Call) -> None:
    await call.in_registry(records.remove_camera, call.scope, call.path("code"))


async def camera_audit_trail(call: Call) -> Any:
    return await call.in_registry(records.camera_audit, call.scope, call.path("code"))


class ImportRefused(ApiError):
    """422 for an import with bad rows: nothing written, every row's problem in the body."""

    def __init__(self, plan: ImportPlan, options: ImportOptions):
        super().__init__(422, Message("web.import_refused", count=plan.summary()["invalid_rows"]))
        self.plan, self.options = plan, options

    def body(self, texts: Texts) -> dict[str, Any]:
        report = _import_report(self.plan, self.options, False, texts)
        return {**super().body(texts), **report.model_dump()}


def _import_report(
    plan: ImportPlan, options: ImportOptions, written: bool, texts: Texts
) -> ImportReport:
    return ImportReport(
        dry_run=options.dry_run, skip_invalid=options.skip_invalid, **plan.summary(),
        problems=[problem.message.render(texts) for problem in plan.problems],
        rows=[RowProblemOut(line=problem.line, column=problem.column,
                            reason=_reason(problem.reason, texts)) for problem in plan.problems],
        created=[data.code for _, data in plan.create],
        updated=[data.code for _, data in plan.update], written=written,
    )  # fmt: skip


def _reason(reason: Message | str, texts: Texts) -> str:
    """A row problem's reason in words: a catalogue message, or plain words (an unknown key's
    "unknown field", as validation_problems gives it)."""
    return reason if isinstance(reason, str) else reason.render(texts)


async def import_cameras(call: Call) -> ImportReport:
    """Every row validated first (the CLI's row errors), then all written in one transaction,
    or nothing: `camera import` over HTTP."""
    from vp_monitor.web.app import texts_for

    options: ImportOptions = call.query
    media_type = call.request.content_type
    if media_type not in IMPORT_MEDIA_TYPES:
        raise ApiError(
            415, "web.media_type_expected", expected=", ".join(IMPORT_MEDIA_TYPES),
            content_type=media_type or "-",
        )  # fmt: skip
    raw = await read_body(call.request, call.app.settings.web.max_import_bytes)
    as_json = media_type == "application/json"
    seconds = call.app.settings.web.request_timeout_s
    deadline = time.monotonic() + seconds - COMMIT_MARGIN_S

    def run(registry: Any) -> tuple[ImportPlan, bool]:
        rows = parse_rows(raw, Message("body"), as_json=as_json)
        plan = plan_import(registry, rows, options.allow_duplicate_device)
        refused = bool(plan.problems) and not options.skip_invalid
        if not (refused or options.dry_run):
            apply_import(registry, plan)
            registry.session.flush()
            # The caller is about to be told the request took too long (or already was):
            # then nothing may stay written, so the transaction is rolled back.
            if time.monotonic() > deadline:
                raise ApiError(503, "web.import_too_long", seconds=seconds)
        return plan, refused

    plan, refused = await call.in_registry(run)
    if refused:
        raise ImportRefused(plan, options)
    return _import_report(plan, options, not options.dry_run, texts_for(call.request))


async def export_cameras(call: Call) -> web.Response:
    """The scope's cameras, CSV or JSON as `camera export` writes them (no password)."""
    from vp_monitor.registry.transfer import write_export

    options: ExportOptions = call.query
    found = await call.in_registry(records.export_cameras, call.scope)
    disposition = {"Content-Disposition": f'attachment; filename="cameras.{options.format}"'}
    if options.format == "json":
        body = EXPORTED.dump_python(EXPORTED.validate_python(found), mode="json")
        return web.json_response(body, headers=disposition)
    out = io.StringIO(newline="")
    write_export(found, "csv", out, options.excel)
    return web.Response(
        text=out.getvalue(), content_type="text/csv", charset="utf-8", headers=disposition
    )


# -- contacts ----------------------------------------------------------------------------------
async def get_contact(call: Call) -> ContactOut:
    contact_id = _id(call, "contact_id")
    return ContactOut.of(await call.in_registry(records.contact_view, call.scope, contact_id))


async def create_contact(call: Call) -> ContactOut:
    return ContactOut.of(await call.in_registry(records.add_contact, call.scope, call.body))


async def update_contact(call: Call) -> ContactOut:
    contact_id = _id(call, "contact_id")
    record = await call.in_registry(records.update_contact, call.scope, contact_id, _changes(call))
    return ContactOut.of(record)


async def delete_contact(call: Call) -> None:
    await call.in_registry(records.remove_contact, call.scope, _id(call, "contact_id"))


def _id(call: Call, name: str) -> int:
    """An id from the path; anything but a number the database holds names nothing
    (NotFound, as a missing one)."""
    text = call.path(name)
    digits = text.isascii() and text.isdigit() and len(text) <= 10
    if not digits or int(text) > MAX_ID:
        key, values = ("site.unknown", {"ref": text[:20]}) if name == "site_id" else (
            "contact.unknown", {"id": text[:20]})  # fmt: skip
        raise NotFound(key, **values)
    return int(text)


def _changes(call: Call) -> dict[str, Any]:
    """A PATCH body's given fields (null ones are "keep", as absent ones)."""
    return call.body.model_dump(exclude_none=True)


# -- the OpenAPI description of the two routes that are not JSON in, JSON out -----------------
def _errors(*statuses: int) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}}
    return {str(s): {"description": ERROR_TEXT[s], "content": error} for s in statuses}


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
        "description": "The columns of `camera import` (README): a header line with at "
        "least code, site and municipality; or a JSON list of camera objects.",
    }
}
EXPORT_RESPONSES = {
    "responses": {
        "200": {
            "description": "The cameras of the caller's scope",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {  # ExportedCamera holds no model: no $defs
                        "type": "array",
                        "items": ExportedCamera.model_json_schema(mode="serialization"),
                    }
                },  # fmt: skip
            },
        },
        **_errors(400, 401, 403, 422, 503),
    }
}


def links(parameter: str, field: str, *operations: str) -> dict[str, Any]:
    """OpenAPI links from a created object's `field` to the operations addressing it by the
    path parameter `parameter` (schemathesis follows them in its stateful phase)."""
    return {
        operation: {"operationId": operation, "parameters": {parameter: f"$response.body#/{field}"}}
        for operation in operations
    }


MUNICIPALITY_LINKS = links(
    "insee", "insee", "get_municipality", "update_municipality", "delete_municipality"
)
SITE_LINKS = links("site_id", "id", "get_site", "update_site", "delete_site")
CAMERA_LINKS = links("code", "code", "get_camera", "update_camera", "camera_audit_trail",
                     "decommission_camera", "delete_camera")  # fmt: skip
CONTACT_LINKS = links("contact_id", "id", "get_contact", "update_contact", "delete_contact")

TAGS = ("registry",)
ROUTES = [
    Route("GET", "/api/v1/municipalities/{insee}", get_municipality, EVERYONE,
          "One municipality", response=MunicipalityOut, tags=TAGS),
    Route("POST", "/api/v1/municipalities", create_municipality, TECHNICIANS,
          "Add a municipality (a commune of the official list unless force)",
          query=MunicipalityCreateOptions, body=MunicipalityInput, response=MunicipalityOut,
          status=201, errors=(409,), tags=TAGS, extra={"links": MUNICIPALITY_LINKS}),
    Route("PATCH", "/api/v1/municipalities/{insee}", update_municipality, TECHNICIANS,
          "Change a municipality's name or département", body=MunicipalityUpdate,
          response=MunicipalityOut, errors=(409,), tags=TAGS),
    Route("DELETE", "/api/v1/municipalities/{insee}", delete_municipality, TECHNICIANS,
          "Remove a municipality that has no sites", status=204, errors=(409,), tags=TAGS),
    Route("GET", "/api/v1/sites/{site_id}", get_site, EVERYONE, "One site", response=SiteOut,
          tags=TAGS),
    Route("POST", "/api/v1/sites", create_site, TECHNICIANS, "Add a site to a municipality",
          body=SiteInput, response=SiteOut, status=201, errors=(409,), tags=TAGS,
          extra={"links": SITE_LINKS}),
    Route("PATCH", "/api/v1/sites/{site_id}", update_site, TECHNICIANS, "Change a site",
          body=SiteUpdate, response=SiteOut, errors=(409,), tags=TAGS),
    Route("DELETE", "/api/v1/sites/{site_id}", delete_site, TECHNICIANS,
          "Remove a site that has no cameras", status=204, errors=(409,), tags=TAGS),
    Route("GET", "/api/v1/cameras/export", export_cameras, EVERYONE,
          "The cameras of the caller's scope as CSV or JSON (re-importable, no password)",
          query=ExportOptions, media_type="text/csv", tags=TAGS, extra=EXPORT_RESPONSES),
    Route("POST", "/api/v1/cameras/import", import_cameras, TECHNICIANS,
          "Import cameras from CSV or JSON: every row checked, then all written or none",
          query=ImportOptions, response=ImportReport, errors=(409, 413, 415, 422), tags=TAGS,
          extra=IMPORT_BODY),
    Route("GET", f"/api/v1/cameras/{CODE}", get_camera, EVERYONE,
          "One camera's registry record", response=CameraOut, tags=TAGS),
    Route("POST", "/api/v1/cameras", create_camera, TECHNICIANS,
          "Register a camera as given (not asked)", query=CameraWriteOptions, body=CameraInput,
          response=CameraOut, status=201, errors=(409,), tags=TAGS,
          extra={"links": CAMERA_LINKS}),
    Route("PATCH", f"/api/v1/cameras/{CODE}", update_camera, TECHNICIANS,
          "Change a camera's fields (the ones given)", query=CameraWriteOptions,
          body=CameraUpdate, response=CameraOut, errors=(409,), tags=TAGS),
    Route("POST", f"/api/v1/cameras/{CODE}/decommission", decommission_camera, TECHNICIANS,
          "Retire a camera: no longer checked, its history kept", body=DecommissionInput,
          response=CameraOut, errors=(409,), tags=TAGS),
    Route("DELETE", f"/api/v1/cameras/{CODE}", delete_camera, TECHNICIANS,
          "Delete a camera entered by mistake (decommission a retired one)", status=204,
          errors=(409,), tags=TAGS),
    Route("GET", f"/api/v1/cameras/{CODE}/audit", camera_audit_trail, EVERYONE,
          "A camera's audit trail: who changed what, when", response=list[AuditEntryOut],
          tags=TAGS),
    Route("GET", "/api/v1/contacts/{contact_id}", get_contact, CONTACT_READERS,
          "One recipient (address masked outside the supervision centre)",
          response=ContactOut, tags=TAGS),
    Route("POST", "/api/v1/contacts", create_contact, TECHNICIANS, "Add a recipient",
          body=ContactInput, response=ContactOut, status=201, errors=(409,), tags=TAGS,
          extra={"links": CONTACT_LINKS}),
    Route("PATCH", "/api/v1/contacts/{contact_id}", update_contact, TECHNICIANS,
          "Change how a recipient is told", body=ContactUpdate, response=ContactOut,
          errors=(409,), tags=TAGS),
    Route("DELETE", "/api/v1/contacts/{contact_id}", delete_contact, TECHNICIANS,
          "Remove a recipient", status=204, errors=(409,), tags=TAGS),
]  # fmt: skip
