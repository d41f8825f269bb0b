"""The official list of communes shipped with the package (INSEE COG, see communes.csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

SOURCE = "communes.csv"


@dataclass(frozen=True)
class Commune:
    """A current commune of the Code officiel géographique."""

    insee: str
    name: str
    departement: str


@cache
def _communes() -> dict[str, Commune]:
    text = resources.files("vp_monitor.registry").joinpath(SOURCE).read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    return {
        row["code"]: Commune(row["code"], row["name"], row["departement"])
        for row in csv.DictReader(lines)
    }


def commune(insee: str) -> Commune | None:
    """The current commune with this INSEE code, or None when it is not in the shipped list."""
    return _communes().get(insee.upper())


def departements() -> list[str]:
    """The départements whose communes are shipped."""
    return sorted({c.departement for c in _communes().values()})
