"""The two municipalities the web tests run on, and the accounts calling as each: the names
of every identifying string of each tenant (isolation tests look for the other's in any
response) and the secrets that must never leave the server.

A module of its own, not the conftest, so that test modules import it by name (two
conftest.py files in the tree cannot both be imported as `conftest`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from vp_monitor.accounts.principal import Principal

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CAMERA_PASSWORD = "Cam-Secret-7781"
WEBHOOK_SECRET = "whsec-Secret-5522"

# Each tenant: what identifies it, and what must never leave the server.
TWO_TOWNS = {
    "boulogne": {
        "insee": "92012", "municipality": "Boulogne-Billancourt", "maintainer": "Acme Vidéo",
        "sites": {"Mairie de Boulogne": "26 avenue André Morizet"},
        "cameras": {"BB-001": "Parvis mairie", "BB-002": "Rue de Sèvres"},
        "incident": "0d5c1e2a-0000-4000-8000-000000000001",
        "contact": "Police municipale Boulogne",
    },
    "versailles": {
        "insee": "78646", "municipality": "Versailles", "maintainer": "Brico Sécurité",
        "sites": {"Château de Versailles": "Place d'Armes"},
        "cameras": {"VE-001": "Grille royale", "VE-002": "Avenue de Paris"},
        "incident": "7e11aa00-0000-4000-8000-000000000002",
        "contact": "Police municipale Versailles",
    },
}  # fmt: skip

PRINCIPALS = {
    "admin": Principal("alice.admin", "admin"),
    "technician": Principal("theo.tech", "technician"),
    "operator": Principal("olga.op", "operator"),
    "boulogne": Principal("bb.mairie", "municipality", frozenset({"92012"})),
    "versailles": Principal("ve.mairie", "municipality", frozenset({"78646"})),
    "acme": Principal("acme.tech", "maintainer", maintainer="Acme Vidéo"),
}


def identifiers(tenant: str) -> list[str]:
    """Every string that identifies one tenant's objects."""
    town = TWO_TOWNS[tenant]
    found = [town["municipality"], town["maintainer"], town["incident"], town["contact"]]
    for site, address in town["sites"].items():
        found += [site, address]
    for code, name in town["cameras"].items():
        found += [code, name]
    return found
