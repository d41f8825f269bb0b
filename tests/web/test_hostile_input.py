"""Hostile requests, table-driven over the route table: each is a clear 4xx naming what was
wrong, nothing is written, nothing leaks, and the server stays up."""

from __future__ import annotations

import json

import pytest
from two_towns import CAMERA_PASSWORD, TWO_TOWNS

from vp_monitor.web.openapi import PATH_PARAMETER
from vp_monitor.web.routes import all_routes

pytestmark = pytest.mark.timeout(120)
BOULOGNE = TWO_TOWNS["boulogne"]
FILLERS = {"code": "BB-001", "incident_id": BOULOGNE["incident"], "insee": "92012",
           "kind": "day", "asset": "docs.js", "window_id": "1", "site_id": "1",
           "contact_id": "1", "test_id": "0123456789abcdef", "name": "wall.js"}  # fmt: skip
HOSTILE_STRINGS = ["'; DROP TABLE camera; --", "<script>alert(1)</script>", "%", "_", "\\", "😀"]


def _path(route) -> str:
    path = route.path
    for name in PATH_PARAMETER.findall(route.path):
        path = PATH_PARAMETER.sub(FILLERS.get(name, "x"), path, count=1)
    return path


def _writes():
    return [r for r in all_routes() if r.body is not None]


def _bodies():
    deep = "[" * 5000 + "]" * 5000
    return [
        ("not JSON", "text/plain", b"name=x", 415),
        ("malformed JSON", "application/json", b'{"a": ', 400),
        ("deeply nested JSON", "application/json", deep.encode(), 400),
        ("JSON not an object", "application/json", b"[1, 2]", 400),
        ("not UTF-8", "application/json", b'{"a": "\xff\xfe"}', 400),
        ("unknown field", "application/json", json.dumps({"surely_unknown": 1}).encode(), 422),
        ("oversized", "application/json", b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413),
    ]


def table_counts(vp_app) -> dict[str, int]:
    """Rows per table: what a refused request must leave as it was."""
    from sqlalchemy import func, select

    from vp_monitor.db import Base

    with vp_app.registry() as registry:
        return {
            name: registry.session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


@pytest.mark.parametrize("case", _bodies(), ids=lambda case: case[0])
async def test_bad_bodies_are_refused_and_nothing_is_written(api, vp_app, case):
    name, content_type, body, status = case
    before = table_counts(vp_app)
    for route in _writes():
        headers = {"X-Test-As": "admin", "Content-Type": content_type}
        response = await api.request(route.method, _path(route), data=body, headers=headers)
        answer = await response.json()
        assert response.status == status, (route.path, name, answer)
        assert answer["error"] and CAMERA_PASSWORD not in answer["error"]
    assert table_counts(vp_app) == before


@pytest.mark.parametrize("parameter, value", [
    ("limit", "100000000"), ("limit", "-1"), ("offset", "-5"), ("offset", "1e99"),
    ("surely_unknown", "1"), ("limit", "abc"),
])  # fmt: skip
async def test_bad_query_strings_are_422_naming_the_parameter(api, parameter, value):
    for route in all_routes():
        if route.query is None or route.stream:
            continue
        fields = route.query.model_fields
        if parameter != "surely_unknown" and parameter not in fields:
            continue
        response = await api.request(route.method, f"{_path(route)}?{parameter}={value}",
                                     headers={"X-Test-As": "admin"})  # fmt: skip
        assert response.status == 422, (route.path, parameter, await response.text())
        if route.media_type == "text/html":  # a page: the error page names it in words
            assert parameter in await response.text()
            continue
        assert (await response.json())["field"] == parameter


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
async def test_sql_and_script_looking_strings_are_plain_text(api, vp_app, text):
    """In every text filter and path parameter: taken literally (no error, no match beyond
    the literal text), nothing written, never echoed unescaped into HTML."""
    before = table_counts(vp_app)
    for route in all_routes():
        if route.method != "GET" or route.stream:
            continue
        queries = [f"?{name}={text}" for name, field in (route.query.model_fields.items()
                   if route.query else []) if field.annotation in (str, str | None)]  # fmt: skip
        paths = [route.path.replace("{" + name + "}", text)
                 for name in PATH_PARAMETER.findall(route.path)]  # fmt: skip
        for url in [_path(route) + query for query in queries] + paths:
            response = await api.get(url, headers={"X-Test-As": "admin"})
            raw = await response.text()
            assert response.status < 500, (url, raw[:300])
            if response.content_type == "text/html":
                assert "<script>alert(1)" not in raw, url
    assert table_counts(vp_app) == before


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e/x",
        "/etc/passwd",
        "docs.js/../../../pyproject.toml",
    ],
)
async def test_no_request_path_reaches_the_file_system(api, path):
    """Files and images are addressed by name or id only."""
    for route in all_routes():
        if route.method != "GET" or not PATH_PARAMETER.search(route.path) or route.stream:
            continue
        url = PATH_PARAMETER.sub(path, route.path, count=1)
        response = await api.get(url, headers={"X-Test-As": "admin"})
        body = await response.read()
        assert response.status in (400, 404), (url, response.status)
        assert b"root:" not in body and b"[project]" not in body
