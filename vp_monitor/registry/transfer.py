"""Camera import and export (CSV and JSON): validate every row first, then write all or nothing."""

from __future__ import annotations

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

# Import/export columns, documented in the README; only code, site and municipality are required.
COLUMNS = (
    "code", "name", "site", "municipality", "kind", "onvif_host", "onvif_port", "username",
    "password", "rtsp_main", "rtsp_sub", "expected_codec", "expected_width", "expected_height",
    "expected_fps", "manufacturer", "model", "serial", "firmware", "lifecycle", "installed_on",
    "maintainer", "authorisation_number", "authorisation_expires", "tags", "notes", "uplink",
)  # fmt: skip
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class RowProblem:
    """One reason a row cannot be imported."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


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


def decode(raw: bytes, origin: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 as French spreadsheets produce."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{origin}: unreadable encoding at byte {exc.start} (expected UTF-8 or Windows-1252)"
        ) from exc


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV or JSON file with the line (CSV) or item number (JSON) of each."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read file: {exc.strerror}") from exc
    text = decode(raw, str(path))
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        return _json_rows(text, path)
    return _csv_rows(text, path)


def _json_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("cameras")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportFileError(f"{path}: expected a JSON list of camera objects")
    return [(number, item) for number, item in enumerate(data, start=1)]


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "code" not in header:
        raise ImportFileError(f"{path}: no header line with a 'code' column")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column(s) {', '.join(unknown)}; expected some of {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            if None in record:
                raise ImportFileError(f"{path}: line {reader.line_num}: more values than columns")
            if any(value and value.strip() for value in record.values()):
                rows.append((reader.line_num, {k: v for k, v in record.items() if v is not None}))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line {reader.line_num}: {exc}") from exc
    return rows


def _problems(line: int, error: ValidationError) -> list[RowProblem]:
    return [
        RowProblem(line, problem.field or "row", problem.reason)
        for problem in validation_problems(error)
    ]


def plan_import(registry: Registry, rows: Iterable[tuple[int, dict[str, Any]]]) -> ImportPlan:
    """Validate every row against the file and the registry; nothing is written."""
    plan = ImportPlan()
    seen: dict[str, int] = {}
    known: dict[str, Camera] = {camera.code: camera for camera in registry.cameras()}
    sites: dict[tuple[str, str], Site | None] = {}
    municipalities: dict[str, bool] = {}
    for line, raw in rows:
        try:
            data = CameraInput.model_validate(raw)
        except ValidationError as exc:
            plan.problems.extend(_problems(line, exc))
            continue
        problems = _check_references(registry, plan, data, line, municipalities, sites)
        if data.code in seen:
            problems.append(
                RowProblem(
                    line, "code", f"duplicate asset code {data.code!r} (line {seen[data.code]})"
                )
            )
        seen.setdefault(data.code, line)
        camera = known.get(data.code)
        if camera is None and not (data.onvif_host or data.rtsp_main):
            problems.append(RowProblem(line, "onvif_host", "give an ONVIF host or an RTSP URL"))
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
        return [RowProblem(line, "municipality", f"unknown municipality {data.municipality!r}")]
    key = (data.municipality, data.site)
    if key not in sites:
        try:
            sites[key] = registry.site(data.site, data.municipality)
        except NotFound:
            sites[key] = None
        except RegistryError as exc:
            return [RowProblem(line, "site", str(exc))]
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
    for _line, data in plan.create:
        registry.add_camera(data)
        if progress:
            progress(1)
    for _line, data in plan.update:
        registry.update_camera(data.code, **data.model_dump(exclude={"code", "uplink"}))
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


def write_export(records: list[dict[str, Any]], fmt: str, out: io.TextIOBase) -> None:
    """Write records as CSV or JSON to `out`."""
    if fmt == "json":
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
