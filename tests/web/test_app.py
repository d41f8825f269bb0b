"""What every request goes through: errors as JSON, security headers, roles from the table."""

from __future__ import annotations

import pytest

from vp_monitor.web.app import SECURITY_HEADERS

pytestmark = pytest.mark.timeout(60)


async def test_unknown_address_and_method_are_json_errors_with_security_headers(api):
    """An unknown address is a JSON 404 and a wrong method a JSON 405, each with every
    security header; the CSP has no unsafe-inline."""
    missing = await api.get("/api/v1/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"].startswith("adresse inconnue")
    wrong = await api.delete("/api/v1/openapi.json")
    assert wrong.status == 405 and "GET" in (await wrong.json())["error"]
    for response in (missing, wrong):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    assert "unsafe-inline" not in SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


async def test_openapi_document_is_3_1_and_lists_every_route(api):
    """The document is OpenAPI 3.1 and holds an operation for each route of the table."""
    from vp_monitor.web.openapi import PATH_PARAMETER
    from vp_monitor.web.routes import all_routes

    response = await api.get("/api/v1/openapi.json")
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item}
    documented = {
        (r.method, PATH_PARAMETER.sub(r"{\1}", r.path)) for r in all_routes() if r.documented
    }  # a parameter's pattern, {code:...}, is the server's, not the document's
    assert documented <= operations
    assert not any(path.startswith(("/static", "/login", "/incidents")) for path in paths)
    assert "ErrorBody" in document["components"]["schemas"]


def test_every_route_has_its_own_operation_id_and_known_roles():
    """Handlers are named once (their name is the operation id) and every route names roles
    that exist, or is public on purpose."""
    from vp_monitor.accounts.principal import ROLES
    from vp_monitor.web.routes import all_routes

    routes = all_routes()
    names = [route.operation_id for route in routes]
    assert len(names) == len(set(names))
    for route in routes:
        assert route.roles <= set(ROLES), route.path
