"""Account settings (`[accounts]` in the TOML): web sessions and the login throttle."""

from __future__ import annotations

from pydantic import Field

from vp_monitor.section import Section


class AccountSettings(Section):
    """How long a web session lasts, and how failed logins are slowed down, then locked out."""

    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="Lifetime of a web session after its login."
    )
    free_failures: int = Field(
        default=3, ge=0, description="Failed logins (per account, per address) before any delay."
    )
    delay_s: float = Field(
        default=1.0, gt=0, description="Wait after the first failure past the free ones; it "
        "doubles at each further failure.",
    )  # fmt: skip
    max_delay_s: float = Field(default=60.0, gt=0, description="Longest wait between failures.")
    lockout_failures: int = Field(
        default=10, ge=1, description="Failed logins within the window that lock logins out."
    )
    lockout_minutes: float = Field(
        default=15.0, gt=0, description="How long logins stay locked out after that."
    )
    window_minutes: float = Field(
        default=15.0, gt=0, description="Failures older than this are forgotten."
    )
