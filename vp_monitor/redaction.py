"""Redaction: how secrets are hidden in everything shown (output, logs, errors, exports, audit).

One module, used everywhere: credentials and query-string values of URLs are masked, known
secret values are masked (empty ones ignored), validation errors name fields, never secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from vp_monitor.texts import InvalidValue, Message

MASK = "********"

# A URL inside free text; quotes and brackets end it (reprs, messages).
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# "password=..." style parameters outside URLs (command lines, connection strings).
_PARAMETER_IN_TEXT = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=[^&\s;,'\"]+")
# Field names whose values are secrets, wherever they are (input, configuration).
_SECRET_FIELD = re.compile(r"(?i)(password|passwd|secret|token)$")
# A path this long may itself be a token (/services/T000/B000/XXXX); short ones (/hook) are not.
_TOKEN_PATH_CHARS = 8


class FieldsError(InvalidValue):
    """A model-level validation error that names the fields it concerns."""

    def __init__(self, fields: str | tuple[str, ...], key: str | Message, **values: Any) -> None:
        super().__init__(key, **values)
        self.fields = (fields,) if isinstance(fields, str) else fields

    def __reduce__(self):
        return (self.__class__, (self.fields, self.message))


def is_secret_field(name: str) -> bool:
    """Whether a field or key of this name holds a secret (password, secret, token)."""
    return bool(_SECRET_FIELD.search(name))


def redact_url(url: str | None) -> str | None:
    """The URL with its user:password@ part and every query-string value masked."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(_masked_parameter(item) for item in parts.query.split("&") if item)
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to mask: as given (urlunsplit drops the // of sqlite:////path)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _masked_parameter(item: str) -> str:
    name, sep, value = item.partition("=")
    if not sep:
        return MASK  # a bare ?value is often the token itself
    return f"{name}={MASK}" if value else item


def masked_recipient(channel: str, address: str) -> str:
    """A recipient as an operator or a log may show it: an e-mail's local part hidden, a
    webhook's credentials, query values and token-like path."""
    if channel == "email":
        local, at, domain = address.partition("@")
        return f"{local[:1]}***{at}{domain}" if at else "***"
    if channel == "webhook":
        shown = redact_url(address) or MASK
        path = urlsplit(address).path
        # A long path is often the token itself (Slack, Teams): shown as the error texts do.
        return shown.replace(path, "/…", 1) if len(path) >= _TOKEN_PATH_CHARS else shown
    return address  # an MQTT topic prefix holds no secret


def url_origin(url: str) -> str:
    """Scheme, host and port only, what a delivery error names: a webhook path may be a token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def url_secrets(url: str) -> list[str]:
    """The parts of a URL never to show: the URL itself, its password, query, token-like path."""
    try:
        parts = urlsplit(url)
        found = [url, parts.password or "", parts.query]
    except ValueError:
        return [url]
    if len(parts.path) >= _TOKEN_PATH_CHARS:
        found.append(parts.path)
    return [part for part in found if part]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Text safe to show: known secrets, URL credentials and queries, password=... masked."""
    # Empty secrets are skipped: replacing "" would put the mask between every character.
    # Longest first, so that a secret containing another is masked whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m[0]) or "", text)
    return _PARAMETER_IN_TEXT.sub(lambda m: f"{m[1]}={MASK}", text)


# -- validation errors ---------------------------------------------------------------------------
class Problem(NamedTuple):
    """One validation error as shown: the field(s), the value if safe to show, the reason."""

    field: str
    value: str | None  # a repr with URL credentials masked; None when not to be shown
    reason: Message
    unknown: bool = False  # the field itself is not expected (an unknown key)


def validation_problems(error: ValidationError) -> list[Problem]:
    """One Problem per error of `error`; secrets never appear in them.

    A value is shown only when it is a plain value of a field that is not secret, with URL
    credentials masked; the whole input of a model-level check is never shown, the fields
    the check names are.
    """
    items = error.errors()
    secrets = [s for item in items for s in _secrets_in(item["input"], _leaf(item["loc"]))]
    problems = []
    for item in items:
        loc, value = tuple(item["loc"]), item["input"]
        field = ".".join(str(part) for part in loc)
        if item["type"] == "extra_forbidden":
            problems.append(Problem(field, None, "unknown field", unknown=True))
            continue
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, FieldsError):
            field = ", ".join(f"{field}.{name}" if field else name for name in cause.fields)
            if len(cause.fields) == 1 and isinstance(value, dict):  # the one field's value
                loc, value = (*loc, cause.fields[0]), value.get(cause.fields[0])
        reason = _reason(item, cause, secrets)
        problems.append(Problem(field, _shown(value, loc, secrets), reason))
    return problems


# Pydantic error types with a catalogue entry "validation.<type>" (its ctx as values).
TRANSLATED_TYPES = {
    "missing", "int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
    "bool_parsing", "bool_type", "string_type", "string_too_short", "string_too_long",
    "string_pattern_mismatch", "greater_than", "greater_than_equal", "less_than",
    "less_than_equal", "literal_error", "enum", "date_parsing", "date_from_datetime_parsing",
    "datetime_parsing", "datetime_from_date_parsing", "date_type", "datetime_type", "list_type",
    "dict_type", "model_type", "model_attributes_type", "too_short", "too_long", "time_zone",
}  # fmt: skip
# Those whose entry has a plural form, chosen by this ctx value.
_COUNTED = {"string_too_short": "min_length", "string_too_long": "max_length",
            "too_short": "min_length", "too_long": "max_length"}  # fmt: skip


def _reason(item: dict, cause: Any, secrets: list[str]) -> Message:
    """Why a value was refused, in the catalogue: a validator's own message, else pydantic's
    error type with its values (its English text for the rare types not translated)."""
    if isinstance(cause, InvalidValue):
        return _redacted(cause.message, secrets)
    kind, ctx = item["type"], dict(item.get("ctx") or {})
    if kind not in TRANSLATED_TYPES:
        reason = item["msg"].removeprefix("Value error, ")
        return Message("validation.other", reason=redact(reason, secrets))
    if "expected" in ctx:  # "'fr' or 'en'": the choices listed in any language
        ctx["choices"] = str(ctx["expected"]).replace(" or ", ", ")
    values = {name: redact(str(value), secrets) for name, value in ctx.items()}
    count = ctx.get(_COUNTED.get(kind, ""))
    return Message(f"validation.{kind}", count=count, **values)


def _redacted(message: Message, secrets: list[str]) -> Message:
    values = {
        name: _redacted(value, secrets) if isinstance(value, Message)
        else redact(value, secrets) if isinstance(value, str) else value
        for name, value in message.values.items()
    }  # fmt: skip
    return Message(message.key, message.count, **values)


def _leaf(loc: tuple) -> str:
    names = [part for part in loc if isinstance(part, str)]
    return names[-1] if names else ""


def _secrets_in(value: Any, name: str) -> list[str]:
    """Secret values within an input: those of secret fields, and URL passwords."""
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in _secrets_in(item, str(key))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _secrets_in(item, name)]
    if is_secret_field(name) and value is not None:
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        return [text]
    if isinstance(value, str) and "://" in value:
        return [s for match in _URL_IN_TEXT.findall(value) for s in _url_password(match)]
    return []


def _url_password(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


def _shown(value: Any, loc: tuple, secrets: list[str]) -> str | None:
    if not loc or is_secret_field(_leaf(loc)):
        return None
    plain = (str, int, float, bool)
    if not (isinstance(value, plain) or (isinstance(value, list) and all(
        isinstance(item, plain) for item in value
    ))):  # fmt: skip
        return None
    return redact(repr(value), secrets)
