"""Validated input for registry writes, shared by the CLI, the importer and (later) the API."""

from __future__ import annotations

import re
import types
import typing
from datetime import date, time
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from vp_monitor.redaction import MASK, FieldsError
from vp_monitor.registry.models import (
    CameraKind,
    ContactChannel,
    Lifecycle,
    MaintenanceScope,
    Severity,
)
from vp_monitor.texts import InvalidValue

INSEE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
CODECS = ("h264", "h265", "mjpeg")


def _blank_to_none(value):
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


def _insee(value: str) -> str:
    value = value.upper()
    if not INSEE.match(value):
        raise InvalidValue("value.insee")
    return value


def _code(value: str) -> str:
    if not CODE.match(value):
        raise InvalidValue("value.code")
    return value


def _rtsp_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("rtsp", "rtsps") or not parts.hostname:
        raise InvalidValue("value.rtsp_url")
    try:
        port = parts.port
    except ValueError:
        raise InvalidValue("value.port_range") from None
    if port is not None and not 1 <= port <= 65535:
        raise InvalidValue("value.port_range")
    return value


def _lower(value):
    value = _blank_to_none(value)
    return value.lower() if isinstance(value, str) else value  # anything else: a type error


def _tags(value):
    if isinstance(value, str):
        return [tag.strip() for tag in re.split(r"[;,]", value) if tag.strip()]
    return value


Optional = Annotated[str | None, BeforeValidator(_blank_to_none)]


def text(max_length: int):
    """An optional text of at most `max_length` characters (its column's size); blank is
    None."""
    return Annotated[
        Annotated[str, Field(max_length=max_length)] | None, BeforeValidator(_blank_to_none)
    ]


# The JSON schema tells clients the form (upper or lower case: the code is upper-cased).
INSEE_FORM = Field(json_schema_extra={"pattern": r"^(?:[0-9]{2}|2[ABab])[0-9]{3}$"})
Insee = Annotated[str, BeforeValidator(_blank_to_none), AfterValidator(_insee), INSEE_FORM]
RtspUrl = Annotated[
    str | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(lambda v: v if v is None else _rtsp_url(v)),
]
Port = Annotated[Annotated[int, Field(ge=1, le=65535)] | None, BeforeValidator(_blank_to_none)]
PositiveInt = Annotated[
    Annotated[int, Field(gt=0, le=16384)] | None, BeforeValidator(_blank_to_none)
]
OptionalDate = Annotated[date | None, BeforeValidator(_blank_to_none)]
OptionalInsee = Annotated[
    str | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(lambda v: v if v is None else _insee(v)),
    INSEE_FORM,
]
Name = Annotated[Annotated[str, Field(max_length=120)] | None, BeforeValidator(_blank_to_none)]
Latitude = Annotated[Annotated[float, Field(ge=-90, le=90)] | None, BeforeValidator(_blank_to_none)]
Longitude = Annotated[
    Annotated[float, Field(ge=-180, le=180)] | None, BeforeValidator(_blank_to_none)
]
Kind = Annotated[CameraKind | None, BeforeValidator(_blank_to_none)]
Codec = Annotated[str | None, BeforeValidator(_lower)]
Fps = Annotated[Annotated[float, Field(gt=0, le=240)] | None, BeforeValidator(_blank_to_none)]
LifecycleValue = Annotated[Lifecycle | None, BeforeValidator(_blank_to_none)]
Tags = Annotated[list[str] | None, BeforeValidator(_tags)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value, info: ValidationInfo):
        """No NUL character in any text: PostgreSQL cannot store one (SQLite would). No
        true/false for a number (pydantic would read false as 0)."""
        if any(isinstance(item, str) and "\x00" in item for item in _items(value)):
            raise InvalidValue("value.nul")
        if isinstance(value, bool) and not _admits_bool(cls.model_fields[info.field_name]):
            raise InvalidValue("value.not_boolean")
        return value


def _admits_bool(field) -> bool:
    """Whether a field's type takes true/false (a bool, or a type that is not a number)."""
    found = set(_plain_types(field.annotation)) - {type(None)}
    return bool in found or not found <= {int, float}


def _plain_types(annotation):
    """The types a field annotation admits, with Annotated's extras and unions undone."""
    if typing.get_origin(annotation) is Annotated:
        return _plain_types(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [t for arg in typing.get_args(annotation) for t in _plain_types(arg)]
    return [annotation]


def _items(value):
    return value if isinstance(value, list | tuple) else (value,)


class MunicipalityInput(Input):
    insee: Insee
    # None: the official name from the shipped list of communes (see Registry.add_municipality).
    name: Name = None
    departement: Optional = None

    @model_validator(mode="after")
    def _departement(self):
        expected = self.insee[:2]
        if self.departement is None:
            self.departement = expected
        elif self.departement != expected:
            raise FieldsError(
                "departement",
                "value.departement",
                departement=self.departement,
                insee=self.insee,
                expected=expected,
            )
        return self


class MunicipalityUpdate(Input):
    """Changes to a municipality (the API's PATCH): the fields given replace the stored ones;
    absent or null ones stay. The INSEE code never changes."""

    name: Name = None
    departement: Optional = None


class SiteInput(Input):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    municipality: Insee
    address: text(250) = None
    latitude: Latitude = None
    longitude: Longitude = None
    uplink: text(64) = None


class SiteUpdate(Input):
    """Changes to a site (the API's PATCH, `site update`): the fields given replace the stored
    ones; absent or null ones stay. A site stays in its municipality (its cameras do)."""

    name: Name = None
    address: text(250) = None
    latitude: Latitude = None
    longitude: Longitude = None
    uplink: text(64) = None


class CameraInput(Input):
    """A camera as given by a technician (CLI or import row). Site is an id or a name."""

    code: Annotated[str, AfterValidator(_code)]
    site: Annotated[str, Field(min_length=1, max_length=120)]
    municipality: Insee
    name: text(120) = None
    kind: Kind = None
    onvif_host: text(253) = None
    onvif_port: Port = None
    username: text(64) = None
    password: text(256) = None
    rtsp_main: RtspUrl = None
    rtsp_sub: RtspUrl = None
    expected_codec: Codec = None
    expected_width: PositiveInt = None
    expected_height: PositiveInt = None
    expected_fps: Fps = None
    manufacturer: text(80) = None
    model: text(80) = None
    serial: text(80) = None
    firmware: text(80) = None
    lifecycle: LifecycleValue = None
    installed_on: OptionalDate = None
    maintainer: text(120) = None
    authorisation_number: text(60) = None
    authorisation_expires: OptionalDate = None
    tags: Tags = None
    notes: Optional = None
    uplink: text(64) = None  # only used when the import creates the site

    @model_validator(mode="after")
    def _checks(self):
        if self.expected_codec is not None and self.expected_codec not in CODECS:
            raise FieldsError("expected_codec", "value.codec", codecs=", ".join(CODECS))
        _split_connection(self)
        return self


class CameraTestInput(Input):
    """How to reach a camera not registered yet, to test it before saving: its ONVIF address
    and credentials, or its RTSP URL(s) (credentials inside them move out, as for a camera)."""

    onvif_host: Optional = None
    onvif_port: Port = None
    username: Optional = None
    password: Optional = None
    rtsp_main: RtspUrl = None
    rtsp_sub: RtspUrl = None

    @model_validator(mode="after")
    def _checks(self):
        if self.onvif_host is None and self.rtsp_main is None:
            raise FieldsError(("onvif_host", "rtsp_main"), "value.test_address")
        _split_connection(self)
        return self


def _split_connection(data: CameraInput | CameraTestInput) -> None:
    """An ONVIF address's port into `onvif_port`; credentials never stay inside a stored URL:
    they move to username/password."""
    if data.onvif_host is not None:
        try:
            data.onvif_host, port = split_host_port(data.onvif_host)
        except InvalidValue as exc:
            raise FieldsError("onvif_host", exc.message) from None
        data.onvif_port = data.onvif_port or port
    for attr in ("rtsp_main", "rtsp_sub"):
        url = getattr(data, attr)
        if not url:
            continue
        url, user, password = split_url_credentials(url)
        setattr(data, attr, url)
        data.username = data.username or user
        if password is not None and data.password in (None, MASK):
            data.password = password


# Changes to a camera: CameraInput's fields, all optional (all but site and municipality are
# there already), less what a PATCH cannot change (the asset code) or does not take (the uplink
# of a site an import creates), so both validate a field alike.
CameraUpdate = create_model(
    "CameraUpdate",
    __base__=Input,
    __doc__="Changes to a camera (the API's PATCH): the fields given replace the stored ones; "
    "absent or null ones stay. The asset code never changes. The whole camera is validated "
    "again as a CameraInput once merged (Registry.update_camera), as `camera update` does.",
    site=(text(120), None),  # id or name
    municipality=(OptionalInsee, None),
    **{name: (field.annotation, field) for name, field in CameraInput.model_fields.items()
       if name not in ("code", "site", "municipality", "uplink")},
)  # fmt: skip


class DecommissionInput(Input):
    """Why a camera is retired (kept in its notes), as `camera decommission --note`."""

    note: Annotated[
        Annotated[str, Field(max_length=2000)] | None, BeforeValidator(_blank_to_none)
    ] = None


def split_url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """'rtsp://u:p@host/x' -> ('rtsp://host/x', 'u', 'p'); (url, None, None) without them."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    netloc = parts.netloc.rpartition("@")[2]
    password = None if parts.password is None else unquote(parts.password)
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.username), password


def split_host_port(value: str) -> tuple[str, int | None]:
    """'cam.example:8080' -> ('cam.example', 8080); the port is checked for range."""
    host, sep, port = value.rpartition(":")
    if not sep or "]" in port:
        return value, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidValue("value.onvif_port", port=port)
    return host, int(port)


# A yes/no or a level is JSON's true/false or a whole number, as the schema says: 0 is not
# "no", "2" is not 2 (the command line passes Python values).
Level = Annotated[StrictInt, Field(ge=0, le=9)]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactInput(Input):
    """A recipient: a municipality's, a maintainer's, or (neither) the supervision centre's."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    channel: ContactChannel
    address: Annotated[str, Field(min_length=1, max_length=500)]
    municipality: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    maintainer: text(120) = None
    min_severity: Severity = Severity.MINOR
    language: Literal["fr", "en"] = "fr"
    level: Level = 0
    quiet_from: time | None = None
    quiet_until: time | None = None
    digest: StrictBool = False
    reports: StrictBool = False
    secret: text(256) = None

    @model_validator(mode="after")
    def _checks(self):
        if self.municipality is not None:
            try:
                self.municipality = _insee(self.municipality)
            except InvalidValue as exc:
                raise FieldsError("municipality", exc.message) from None
        if self.municipality and self.maintainer:
            raise FieldsError(
                ("municipality", "maintainer"),
                "value.contact_owner",
            )
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise FieldsError(("quiet_from", "quiet_until"), "value.quiet_hours")
        if self.channel is ContactChannel.EMAIL and not EMAIL.match(self.address):
            raise FieldsError("address", "value.email", address=self.address)
        if self.channel is ContactChannel.WEBHOOK:
            scheme = urlsplit(self.address).scheme
            if scheme not in ("http", "https") or not urlsplit(self.address).hostname:
                raise FieldsError("address", "value.webhook")
        if self.channel is ContactChannel.MQTT and any(c in self.address for c in "#+"):
            raise FieldsError("address", "value.mqtt_topic")
        return self


class ContactUpdate(Input):
    """How a recipient is told (the API's PATCH, `contact update`): the fields given replace
    the stored ones; absent or null ones stay."""

    min_severity: Severity | None = None
    language: Literal["fr", "en"] | None = None
    level: Level | None = None
    digest: StrictBool | None = None
    reports: StrictBool | None = None


class MaintenanceInput(Input):
    """A planned maintenance window on one camera, site or municipality."""

    scope: MaintenanceScope
    target: Annotated[str, Field(min_length=1)]  # camera code, site id/name, or INSEE
    municipality: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = ""

    @model_validator(mode="after")
    def _order(self):
        if self.ends_at <= self.starts_at:
            raise FieldsError(("starts_at", "ends_at"), "value.window_order")
        return self


# How a camera is reached and what it says of itself: a test before saving gives these.
TESTED_FIELDS = frozenset({
    "onvif_host", "onvif_port", "username", "password", "rtsp_main", "rtsp_sub", "uplink",
    "manufacturer", "model", "serial", "firmware", "expected_codec", "expected_width",
    "expected_height", "expected_fps",
})  # fmt: skip
# A camera registered from a test before saving: CameraInput's other fields, validated alike.
TestedCameraInput = create_model(
    "TestedCameraInput",
    __base__=Input,
    __doc__="A camera registered from a test before saving: what the test does not tell.",
    **{name: (field.annotation, field) for name, field in CameraInput.model_fields.items()
       if name not in TESTED_FIELDS},
    allow_duplicate_device=(bool, False),  # another camera may share its device (an encoder)
)  # fmt: skip
