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
from conftest import CAMERA_PASSWORD, TWO_TOWNS, WEBHOOK_SECRET, identifiers

from vp_monitor.web.openapi import PATH_PARAMETER
from vp_monitor.web.routes import all_routes

pytestmark = pytest.mark.timeout(120)
SECRETS = [CAMERA_PASSWORD, WEBHOOK_SECRET, "viewer:"]  # viewer: a URL's user:password
STREAM_READ_S = 1.0  # how long an event stream is read


def _ids(tenant: str) -> dict[str, list[str]]:
    town = TWO_TOWNS[tenant]
    # load_two_towns adds one site and one contact per town, in TWO_TOWNS' order.
    number = str(list(TWO_TOWNS).index(tenant) + 1)
    return {
        "site_id": [number],
        "contact_id": [number],
        "code": list(town["cameras"]),
        "id": [town["incident"]],
        "incident_id": [town["incident"]],
        "insee": [town["insee"]],
        "kind": ["day", "night"],
        "asset": ["docs.js"],
    }


# Path parameters by name: Boulogne's values and Versailles'. A route whose parameter is
# missing here fails the walk: add it, so that the route is walked.
PATH_VALUES = {"boulogne": _ids("boulogne"), "versailles": _ids("versailles")}


def _paths(route, tenant: str) -> list[str]:
    names = PATH_PARAMETER.findall(route.path)
    values = PATH_VALUES[tenant]
    missing = [name for name in names if name not in values]
    assert not missing, f"{route.path}: add {missing} to PATH_VALUES to walk this route"
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


async def leaks_of_another(api, routes) -> list[str]:
    """Every route as Boulogne, with Boulogne's identifiers and Versailles': what of
    Versailles each response shows, and any server error."""
    others = [s.encode() for s in identifiers("versailles")]
    found = []
    for route in routes:
        for tenant in ("boulogne", "versailles"):
            for path in _paths(route, tenant):
                status, raw = await _call(api, route, path, "boulogne")
                leaked = [s.decode() for s in others if s in raw]
                if leaked or status >= 500:
                    found.append(f"{route.method} {path}: {status} {leaked} {raw[:300]!r}")
    return found


async def test_municipality_sees_nothing_of_another(signed_api):
    """Nothing of Versailles in any response to Boulogne's real account; Versailles' objects
    answer as missing ones do."""
    assert await leaks_of_another(signed_api, all_routes()) == []


async def test_the_walk_sees_a_leaky_route(vp_app):
    """A route that forgets the caller's scope is caught by the same walk."""
    from aiohttp.test_utils import TestClient, TestServer
    from conftest import header_principal

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
        found = await leaks_of_another(client, [leaky])
    finally:
        await client.close()
    assert len(found) == 2 and "VE-001" in found[0]


@pytest.mark.parametrize("caller", ["admin", "technician", "operator", "boulogne", "acme"])
async def test_no_response_holds_a_secret(signed_api, caller):
    """Every route, every role: no camera password, webhook secret or URL credentials."""
    for route in all_routes():
        for path in _paths(route, "boulogne"):
            status, raw = await _call(signed_api, route, path, caller)
            found = [s for s in SECRETS + [signed_api[1][caller]] if s.encode() in raw]
            assert not found, f"{route.method} {path} as {caller} shows {found}"
            assert status < 500, f"{route.method} {path} as {caller}: {status} {raw[:400]!r}"
