"""Camera import and export (CSV and JSON): validate every row first, then write all or nothing."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vp_monitor.redaction import MASK, validation_problems
from vp_monitor.registry.models import Camera, Site
from vp_monitor.registry.schemas import CameraInput
from vp_monitor.registry.service import NotFound, Registry, RegistryError, camera_record
from vp_monitor.texts import Message

# Import/export columns, documented in the README; only code, site and municipality are required.
COLUMNS = (
    "code", "name", "site", "municipality", "kind", "onvif_host", "onvif_port", "username",
    "password", "rtsp_main", "rtsp_sub", "expected_codec", "expected_width", "expected_height",
    "expected_fps", "manufacturer", "model", "serial", "firmware", "lifecycle", "installed_on",
    "maintainer", "authorisation_number", "authorisation_expires", "tags", "notes", "uplink",
)  # fmt: skip
MAX_FILE_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class RowProblem:
    """One reason a row cannot be imported."""

    line: int
    column: str | None  # None: the row as a whole
    reason: Message

    @property
    def message(self) -> Message:
        """The problem as a person reads it: the line, the column if any, the reason."""
        if self.column is None:
            return Message("import.row", line=self.line, reason=self.reason)
        return Message("import.row_column", line=self.line, column=self.column, reason=self.reason)

    def __str__(self) -> str:
        return str(self.message)


class ImportFileError(RegistryError):
    """The file as a whole cannot be read (missing, wrong encoding, not CSV/JSON)."""


@dataclass
class ImportPlan:
    """What an import would do: rows to create, update or leave, and the problems found."""

    create: list[tuple[int, CameraInput]] = field(default_factory=list)
    update: list[tuple[int, CameraInput]] = field(default_factory=list)
    unchanged: list[tuple[int, CameraInput]] = field(default_factory=list)
    new_sites: dict[tuple[str, str], str | None] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "create": len(self.create),
            "update": len(self.update),
            "unchanged": len(self.unchanged),
            "new_sites": len(self.new_sites),
            "invalid_rows": len({p.line for p in self.problems}),
        }


def decode(raw: bytes, origin: str | Message) -> str:
    """UTF-16 (Excel's "Unicode text"), UTF-8 (with or without BOM), else Windows-1252 as
    French spreadsheets produce."""
    utf16 = _utf16_codec(raw)
    if utf16:
        try:
            return raw.decode(utf16)
        except UnicodeDecodeError as exc:
            raise ImportFileError("import.bad_utf16", path=origin, byte=exc.start) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportFileError("import.bad_encoding", path=origin, byte=exc.start) from exc


def _utf16_codec(raw: bytes) -> str | None:
    """'utf-16' for a UTF-16 byte-order mark, 'utf-16-le'/'-be' for BOM-less UTF-16 text
    (ASCII-range characters leave every other byte zero), else None."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = raw[:4000]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even == 0:
        return "utf-16-le"
    if even > 0.4 * half and odd == 0:
        return "utf-16-be"
    return None


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV or JSON file with the line (CSV) or item number (JSON) of each."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError("import.too_large", path=path, mib=MAX_FILE_BYTES // 2**20)
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError("import.unreadable", path=path, reason=exc.strerror) from exc
    return parse_rows(raw, path, as_json=True if path.suffix.lower() == ".json" else None)


def parse_rows(
    raw: bytes, origin: Path | Message, as_json: bool | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Rows of CSV or JSON content (`as_json` None: JSON if it looks like it), with the line
    (CSV) or item number (JSON) of each; `origin` names the content in errors (a file, the
    request body)."""
    text = decode(raw, origin if isinstance(origin, Message) else str(origin))
    if as_json or (as_json is None and text.lstrip().startswith(("[", "{"))):
        return _json_rows(text, origin)
    return _csv_rows(text, origin)


def _json_rows(text: str, path: Path | Message) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError("import.not_json", path=path, reason=exc) from exc
    except RecursionError:  # nested deeper than the parser goes: not a list of cameras
        raise ImportFileError("import.not_a_list", path=path) from None
    if isinstance(data, dict):
        data = data.get("cameras")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportFileError("import.not_a_list", path=path)
    return [(number, item) for number, item in enumerate(data, start=1)]


def _csv_rows(text: str, path: Path | Message) -> list[tuple[int, dict[str, Any]]]:
    first_line = text.split("\n", 1)[0]
    # The header's most frequent separator: ',' by default, ';' (French Excel), tab (Excel's
    # "Unicode text").
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "code" not in header:
        raise ImportFileError("import.no_header", path=path)
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ImportFileError(
            "import.unknown_columns", path=path, columns=", ".join(unknown),
            expected=", ".join(COLUMNS),
        )  # fmt: skip
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            if None in record:
                raise ImportFileError("import.too_many_values", path=path, line=reader.line_num)
            if any(value and value.strip() for value in record.values()):
                rows.append((reader.line_num, {k: v for k, v in record.items() if v is not None}))
    except csv.Error as exc:
        raise ImportFileError(
            "import.bad_csv", path=path, line=reader.line_num, reason=exc
        ) from exc
    return rows


def _problems(line: int, error: ValidationError) -> list[RowProblem]:
    # A problem without a field (a check of the whole row) is reported against the line.
    return [
        RowProblem(line, problem.field or None, problem.reason)
        for problem in validation_problems(error)
    ]


def plan_import(
    registry: Registry,
    rows: Iterable[tuple[int, dict[str, Any]]],
    allow_duplicate_device: bool = False,
) -> ImportPlan:
    """Validate every row against the file and the registry; nothing is written. Asset codes
    match whatever their case; a device (serial, stream URL, ONVIF address) already held by
    another camera, in the registry or earlier in the file, is refused unless
    `allow_duplicate_device`."""
    plan = ImportPlan()
    seen: dict[str, int] = {}
    known: dict[str, Camera] = {camera.code.lower(): camera for camera in registry.cameras()}
    devices = registry.device_index()
    sites: dict[tuple[str, str], Site | None] = {}
    municipalities: dict[str, bool] = {}
    for line, raw in rows:
        try:
            data = CameraInput.model_validate(raw)
        except ValidationError as exc:
            plan.problems.extend(_problems(line, exc))
            continue
        problems = _check_references(registry, plan, data, line, municipalities, sites)
        key = data.code.lower()
        if key in seen:
            problems.append(
                RowProblem(
                    line, "code", Message("import.duplicate_code", code=data.code, line=seen[key])
                )
            )
        seen.setdefault(key, line)
        camera = known.get(key)
        if camera is not None and camera.code != data.code:
            data = data.model_copy(update={"code": camera.code})  # the registered spelling
        if camera is None and not (data.onvif_host or data.rtsp_main):
            problems.append(RowProblem(line, "onvif_host", Message("import.address_needed")))
        if not allow_duplicate_device:
            clash = devices.find(data, camera)
            if clash:
                problems.append(RowProblem(line, None, clash))
        devices.add(data)
        if problems:
            plan.problems.extend(problems)
        elif camera is None:
            plan.create.append((line, data))
        elif registry.is_unchanged(camera, data):
            plan.unchanged.append((line, data))
        else:
            plan.update.append((line, data))
    return plan


def _check_references(registry, plan, data, line, municipalities, sites) -> list[RowProblem]:
    if data.municipality not in municipalities:
        try:
            registry.municipality(data.municipality)
            municipalities[data.municipality] = True
        except NotFound:
            municipalities[data.municipality] = False
    if not municipalities[data.municipality]:
        return [
            RowProblem(
                line,
                "municipality",
                Message("import.unknown_municipality", insee=data.municipality),
            )
        ]
    key = (data.municipality, data.site)
    if key not in sites:
        try:
            sites[key] = registry.site(data.site, data.municipality)
        except NotFound:
            sites[key] = None
        except RegistryError as exc:
            return [RowProblem(line, "site", exc.message)]
    if sites[key] is None:
        plan.new_sites.setdefault(key, data.uplink)
    return []


def apply_import(
    registry: Registry, plan: ImportPlan, progress: Callable[[int], None] | None = None
) -> None:
    """Write a validated plan: new sites first, then cameras; the caller owns the transaction."""
    from vp_monitor.registry.schemas import SiteInput

    for (insee, name), uplink in plan.new_sites.items():
        registry.add_site(SiteInput(name=name, municipality=insee, uplink=uplink))
    # Codes, places and devices were checked by plan_import, against the registry and the
    # whole file.
    for _line, data in plan.create:
        registry.add_camera(data, allow_duplicate_device=True, checked=True)
        if progress:
            progress(1)
    for _line, data in plan.update:
        registry.update_camera(
            data.code, allow_duplicate_device=True, **data.model_dump(exclude={"code", "uplink"})
        )
        if progress:
            progress(1)


def export_records(cameras: Iterable[Camera]) -> list[dict[str, Any]]:
    """Cameras as import-compatible records; passwords are a placeholder, never the secret."""
    records = []
    for camera in cameras:
        record = camera_record(camera)
        record["uplink"] = camera.site.uplink
        record["tags"] = ";".join(record["tags"] or [])
        record["password"] = MASK if camera.password_encrypted else None
        records.append({column: record.get(column) for column in COLUMNS})
    return records


def write_export(
    records: list[dict[str, Any]], fmt: str, out: io.TextIOBase, excel: bool = False
) -> None:
    """Write records as CSV or JSON to `out`; `excel`: CSV as French Excel opens it (a BOM so
    that it reads UTF-8, ';' since ',' is its decimal separator)."""
    if fmt == "json":
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    if excel:
        out.write("\ufeff")
    writer = csv.DictWriter(
        out, fieldnames=COLUMNS, delimiter=";" if excel else ",", lineterminator="\r\n" if excel
        else "\n",
    )  # fmt: skip
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
