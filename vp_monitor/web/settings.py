"""Web service settings (`[web]` in the TOML): where it listens and what a request may cost."""

from __future__ import annotations

from pydantic import Field

from vp_monitor.section import Section


class WebSettings(Section):
    host: str = Field(
        default="127.0.0.1",
        description="Address `serve` listens on; loopback by default: put a TLS reverse proxy "
        "in front of it to reach it from the network (README, Deployment).",
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Port `serve` listens on.")
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted (imports included); larger ones get 413.",
    )
    request_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest a request may take before it is answered 503 (event streams "
        "excepted); a camera test is bounded by the probes' own time-outs, below this.",
    )
