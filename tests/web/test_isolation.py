"""Each municipality sealed off, proved by walking the route table itself: a route added
later is called here without anyone remembering to add it.

With two municipalities loaded, every route is called as Boulogne's account, with Boulogne's
own identifiers and with Versailles', and no response (status line, headers, body, image
bytes, events) holds anything that names Versailles' objects. The same walk, for every
caller, finds no stored camera password, webhook secret or credential-bearing URL.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from two_towns import CAMERA_PASSWORD, PRINCIPALS, TWO_TOWNS, WEBHOOK_SECRET, identifiers

from vp_monitor.web.openapi import PATH_PARAMETER
from vp_monitor.web.routes import all_routes

pytestmark = pytest.mark.timeout(120)
# viewer: a URL's user:password; $argon2: an account's password hash
SECRETS = [CAMERA_PASSWORD, WEBHOOK_SECRET, "viewer:", "$argon2"]
STREAM_READ_S = 1.0  # how long an event stream is read


def tenant_values(vp_app) -> dict[str, dict[str, list[str]]]:
    """Path parameters by name, for each tenant: its own objects' identifiers. A route whose
    parameter is missing here fails the walk: add it, so that the route is walked."""
    from sqlalchemy import select

    from vp_monitor.registry.models import Camera, Contact, MaintenanceWindow, Municipality, Site

    values = {}
    with vp_app.registry() as registry:
        session = registry.session
        for tenant, town in TWO_TOWNS.items():
            insee = town["insee"]
            in_town = select(Municipality.id).where(Municipality.insee == insee)
            cameras = select(Camera.id).where(Camera.municipality_id.in_(in_town))
            values[tenant] = {
                "code": list(town["cameras"]),
                "incident_id": [town["incident"]],
                "insee": [insee],
                "site_id": [str(i) for i in session.scalars(
                    select(Site.id).where(Site.municipality_id.in_(in_town)))],
                "contact_id": [str(i) for i in session.scalars(
                    select(Contact.id).where(Contact.municipality_id.in_(in_town)))],
                "window_id": [str(i) for i in session.scalars(
                    select(MaintenanceWindow.id).where(MaintenanceWindow.camera_id.in_(cameras)))],
                "test_id": ["0123456789abcdef"],  # tests live in memory, one technician's each
                "kind": ["day", "night"],
                "name": ["wall.js"],
                "user": [PRINCIPALS[tenant].name],  # the tenant's own account
                "token": ["tests"],  # every account's token (two_towns.create_accounts)
            }  # fmt: skip
    return values


def _paths(route, values: dict[str, list[str]]) -> list[str]:
    names = PATH_PARAMETER.findall(route.path)
    missing = [name for name in names if name not in values]
    assert not missing, f"{route.path}: add {missing} to tenant_values to walk this route"
    paths = [route.path]
    for name in names:
        pattern = re.compile(r"\{" + name + r"(?::[^}]*)?\}")
        paths = [pattern.sub(value, path) for path in paths for value in values[name]]
    return paths


async def _call(api, route, path: str, caller: str) -> tuple[int, bytes]:
    """The route called by `caller`: a bearer token of a real account when the client holds
    tokens (`signed_api`), else the test sign-in header."""
    if isinstance(api, tuple):
        api, tokens = api
        headers = {"Authorization": f"Bearer {tokens[caller]}"}
    else:
        headers = {"X-Test-As": caller}
    kwargs = {"json": {}} if route.body is not None else {}
    async with api.request(route.method, path, headers=headers, **kwargs) as response:
        head = f"{response.status} {response.reason}\n".encode()
        head += b"".join(f"{k}: {v}\n".encode() for k, v in response.headers.items())
        if route.stream:
            body = b""
            try:
                async with asyncio.timeout(STREAM_READ_S):
                    async for chunk in response.content.iter_any():
                        body += chunk
            except TimeoutError:
                pass
        else:
            body = await response.read()
    return response.status, head + body


async def leaks_of_another(api, routes, values) -> list[str]:
    """Every route as Boulogne, with Boulogne's identifiers and Versailles': what of
    Versailles each response shows, and any server error."""
    others = [s.encode() for s in identifiers("versailles")]
    found = []
    for route in routes:
        for tenant in ("boulogne", "versailles"):
            for path in _paths(route, values[tenant]):
                status, raw = await _call(api, route, path, "boulogne")
                # An identifier the caller sent may be named back ("unknown camera 'VE-001'",
                # word for word the answer for a missing one): it tells nothing new.
                leaked = [s.decode() for s in others if s in raw and s.decode() not in path]
                if leaked or status >= 500:
                    found.append(f"{route.method} {path}: {status} {leaked} {raw[:300]!r}")
    return found


def versailles_rows(vp_app) -> list[tuple]:
    """Versailles' incident and maintenance windows as stored: what Boulogne cannot change."""
    from sqlalchemy import select

    from vp_monitor.alerts.models import Incident
    from vp_monitor.registry.models import MaintenanceWindow

    with vp_app.registry() as registry:
        session = registry.session
        incident = session.get(Incident, TWO_TOWNS["versailles"]["incident"])
        windows = session.execute(select(MaintenanceWindow.id, MaintenanceWindow.ends_at))
        return [(incident.status, incident.acknowledged_by, incident.resolved_at),
                *sorted(tuple(row) for row in windows)]  # fmt: skip


async def test_municipality_sees_nothing_of_another(signed_api, vp_app):
    """Nothing of Versailles in any response to Boulogne's real account, and nothing of
    Versailles changed by any route called with Versailles' identifiers."""
    before = versailles_rows(vp_app)
    assert await leaks_of_another(signed_api, all_routes(), tenant_values(vp_app)) == []
    assert versailles_rows(vp_app)[0] == before[0]
    assert set(before[1:]) <= set(versailles_rows(vp_app)[1:])


async def test_the_walk_sees_a_leaky_route(vp_app):
    """A route that forgets the caller's scope is caught by the same walk."""
    from aiohttp.test_utils import TestClient, TestServer
    from two_towns import header_principal

    from vp_monitor.service import views
    from vp_monitor.service.scope import Scope
    from vp_monitor.web.app import create_app
    from vp_monitor.web.routes import EVERYONE, Route

    async def unscoped_wall(call):
        return await call.app.in_registry(
            lambda registry: [r["camera"] for r in views.status_wall(
                registry.session, Scope.supervision()).cameras]
        )  # fmt: skip

    leaky = Route("GET", "/api/v1/leaky", unscoped_wall, EVERYONE, "forgets the scope",
                  response=list[str])  # fmt: skip
    client = TestClient(TestServer(create_app(vp_app, [leaky], header_principal)))
    await client.start_server()
    try:
        found = await leaks_of_another(client, [leaky], tenant_values(vp_app))
    finally:
        await client.close()
    assert len(found) == 2 and "VE-001" in found[0]


@pytest.mark.parametrize("caller", ["admin", "technician", "operator", "boulogne", "acme"])
async def test_no_response_holds_a_secret(signed_api, vp_app, caller):
    """Every route, every role: no camera password, webhook secret or URL credentials."""
    values = tenant_values(vp_app)["boulogne"]
    for route in all_routes():
        for path in _paths(route, values):
            status, raw = await _call(signed_api, route, path, caller)
            found = [s for s in SECRETS + [signed_api[1][caller]] if s.encode() in raw]
            assert not found, f"{route.method} {path} as {caller} shows {found}"
            assert status < 500, f"{route.method} {path} as {caller}: {status} {raw[:400]!r}"
