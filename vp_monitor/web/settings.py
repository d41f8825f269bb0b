"""Web service settings (`[web]` in the TOML): where it listens and what a request may cost."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from vp_monitor.section import Section
from vp_monitor.texts import InvalidValue

# A tile server's host as the Content-Security-Policy names it: letters, digits, dots and
# dashes, Leaflet's `{s}.` sub-domain first at most, a port at most (nothing that could end
# the policy's directive: no space, quote or semicolon).
TILE_HOST = re.compile(r"(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _tile_url(value: str) -> str:
    if not value:
        return value
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not TILE_HOST.fullmatch(parts.netloc)
        or not all(f"{{{name}}}" in value for name in "zxy")
        or any(character in value for character in " '\";,")
    ):
        raise InvalidValue("value.tile_url")
    return value


def tile_source(url: str) -> str:
    """The CSP source of a tile URL template: its origin, `{s}.` as a wildcard sub-domain."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


class WebSettings(Section):
    host: str = Field(
        default="127.0.0.1",
        description="Address `serve` listens on; loopback by default: put a TLS reverse proxy "
        "in front of it to reach it from the network (README, Deployment).",
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Port `serve` listens on.")
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest JSON request body accepted; larger ones get 413.",
    )
    max_import_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest camera import (CSV or JSON) accepted; larger ones get 413.",
    )
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1", "::1"],
        description="Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For "
        "are believed (HTTPS cookies, the client address that sign-in throttling counts).",
    )
    request_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest a request may take before it is answered 503 (event streams "
        "excepted); a camera test is bounded by the probes' own time-outs, below this.",
    )
    map_tile_url: Annotated[str, AfterValidator(_tile_url)] = Field(
        default="",
        description="Tile server of the map page, as a Leaflet URL template "
        "(https://{s}.tile.example.org/{z}/{x}/{y}.png); its host is allowed for images in "
        "the Content-Security-Policy. Empty: no tiles, the sites' markers on a blank "
        "background.",
    )
    map_tile_attribution: str = Field(
        default="",
        max_length=300,
        description="The tile server's credit line, shown in the map's corner (plain text).",
    )
    principal_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long who a token or session cookie stands for is remembered: a token "
        "revoked or an account changed from the command line or another web node is refused "
        "within this many seconds (at once through this process); 0: looked up every request.",
    )
    read_cache_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Longest an answer of the camera list or the status wall's counts is "
        "reused (what changes without an event: a check's time, a registry edit on another "
        "node); every camera state or incident event clears them sooner, so a new state is "
        "served as soon as its event arrives; 0: computed every request.",
    )
