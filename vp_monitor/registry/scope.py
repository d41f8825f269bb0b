"""Who is looking: the supervision centre (everything), municipalities, or one maintainer.

Tenant filtering is written here once, as SQL conditions on the registry's tables; every read
model, command and daily report takes a Scope, and an object outside it is "not found", the same
answer as for a missing one. The condition on incidents, an alerting table, is
`service.scope.incidents_in`, written from these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true

from vp_monitor.registry.models import (
    Camera,
    Contact,
    Maintainer,
    MaintenanceWindow,
    Municipality,
    Site,
)


@dataclass(frozen=True)
class Scope:
    """The part of the fleet a user may see: all of it, some municipalities, or the cameras
    one maintainer company maintains."""

    municipalities: frozenset[str] = frozenset()  # INSEE codes
    maintainer: str | None = None

    def __post_init__(self) -> None:
        if self.municipalities and self.maintainer is not None:
            raise ValueError("a scope is municipalities or a maintainer, not both")

    @classmethod
    def supervision(cls) -> Scope:
        """The supervision centre: every camera."""
        return cls()

    @classmethod
    def of_municipalities(cls, insee_codes: Iterable[str]) -> Scope:
        """The cameras of these municipalities (INSEE codes)."""
        codes = frozenset(insee_codes)
        if not codes:
            raise ValueError("a municipality scope needs at least one INSEE code")
        return cls(municipalities=codes)

    @classmethod
    def of_maintainer(cls, name: str) -> Scope:
        """The cameras this maintainer company maintains."""
        return cls(maintainer=name)

    @classmethod
    def of_contact(cls, contact: Contact) -> Scope:
        """What a contact is told about: its municipality's cameras, its company's, or all."""
        if contact.municipality_id is not None:
            return cls.of_municipalities([contact.municipality.insee])
        if contact.maintainer_id is not None:
            return cls.of_maintainer(contact.maintainer.name)
        return cls.supervision()

    @classmethod
    def narrowed(cls, municipality: str | None = None) -> Scope:
        """The supervision centre's view, narrowed to one municipality when one is given."""
        return cls.of_municipalities([municipality]) if municipality else cls.supervision()

    @property
    def is_supervision(self) -> bool:
        """Whether the scope is the whole fleet."""
        return not self.municipalities and self.maintainer is None

    def _towns(self):
        return select(Municipality.id).where(Municipality.insee.in_(sorted(self.municipalities)))

    def cameras(self) -> ColumnElement[bool]:
        """The SQL condition on `Camera` rows inside the scope."""
        if self.municipalities:
            return Camera.municipality_id.in_(self._towns())
        if self.maintainer is not None:
            company = select(Maintainer.id).where(Maintainer.name == self.maintainer)
            return Camera.maintainer_id.in_(company)
        return true()

    def sites(self) -> ColumnElement[bool]:
        """The SQL condition on `Site` rows inside the scope (a maintainer's: where it
        maintains a camera)."""
        if self.municipalities:
            return Site.municipality_id.in_(self._towns())
        if self.maintainer is not None:
            return Site.id.in_(select(Camera.site_id).where(self.cameras()))
        return true()

    def towns(self) -> ColumnElement[bool]:
        """The SQL condition on `Municipality` rows inside the scope (a maintainer's: where it
        maintains a camera)."""
        if self.municipalities:
            return Municipality.insee.in_(sorted(self.municipalities))
        if self.maintainer is not None:
            return Municipality.id.in_(select(Camera.municipality_id).where(self.cameras()))
        return true()

    def contacts(self) -> ColumnElement[bool]:
        """The SQL condition on `Contact` rows inside the scope: a municipality's or a
        company's own recipients (the supervision centre's are its own)."""
        if self.municipalities:
            return Contact.municipality_id.in_(self._towns())
        if self.maintainer is not None:
            company = select(Maintainer.id).where(Maintainer.name == self.maintainer)
            return Contact.maintainer_id.in_(company)
        return true()

    def maintenance_windows(self) -> ColumnElement[bool]:
        """The SQL condition on `MaintenanceWindow` rows inside the scope: windows on its
        cameras, its sites or its municipalities."""
        if self.is_supervision:
            return true()
        return or_(
            MaintenanceWindow.camera_id.in_(select(Camera.id).where(self.cameras())),
            MaintenanceWindow.site_id.in_(select(Site.id).where(self.sites())),
            MaintenanceWindow.municipality_id.in_(select(Municipality.id).where(self.towns())),
        )

    def has_municipality(self, insee: str) -> bool:
        """Whether a camera of this municipality may be written in the scope (a maintainer
        registers none)."""
        return self.is_supervision or insee in self.municipalities
