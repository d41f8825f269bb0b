"""Who is calling: an account's role and the part of the fleet it may see.

The web service resolves every request to a Principal (from a session cookie or an API token)
before any handler runs; handlers read data through `principal.scope` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vp_monitor.registry.scope import Scope

Role = Literal["admin", "technician", "operator", "municipality", "maintainer"]
ROLES: tuple[Role, ...] = ("admin", "technician", "operator", "municipality", "maintainer")
SUPERVISION_ROLES: frozenset[Role] = frozenset({"admin", "technician", "operator"})
TENANT_ROLES: frozenset[Role] = frozenset({"municipality", "maintainer"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person's account, or a script's token acting as it."""

    name: str
    role: Role
    municipalities: frozenset[str] = field(default_factory=frozenset)  # INSEE codes
    maintainer: str | None = None  # company name
    language: Literal["fr", "en"] = "fr"
    token: str | None = None  # the API token's name when the call came with one

    @property
    def scope(self) -> Scope:
        """The cameras this caller may see: everything for the supervision centre's roles."""
        if self.role == "municipality":
            return Scope.of_municipalities(self.municipalities)
        if self.role == "maintainer":
            return Scope.of_maintainer(self.maintainer or "")
        return Scope.supervision()

    @property
    def actor(self) -> str:
        """The name recorded in the audit trail."""
        return f"{self.name} (token {self.token})" if self.token else self.name
