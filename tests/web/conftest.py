"""Fixtures for the web service: the aiohttp application on a real socket over a database
holding two municipalities (two_towns.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from two_towns import create_accounts, header_principal, load_two_towns

from vp_monitor.config import Settings
from vp_monitor.service.app import App
from vp_monitor.web.app import create_app


@pytest.fixture
def vp_app(database_url, secret_key) -> App:
    """The service application on a fresh database holding the two towns."""
    app = App.from_settings(Settings(database_url=database_url), actor="fixture")
    load_two_towns(app)
    yield app
    app.close()


@pytest.fixture
async def signed_api(vp_app) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    """A client of the web service with its real sign-in, and a bearer token per caller of
    PRINCIPALS (each a real account)."""
    tokens = create_accounts(vp_app)
    client = TestClient(TestServer(create_app(vp_app)))
    await client.start_server()
    yield client, tokens
    await client.close()


@pytest.fixture
async def api(vp_app) -> AsyncIterator[TestClient]:
    """A client of the web service on a real loopback socket; `X-Test-As` picks the caller."""
    client = TestClient(TestServer(create_app(vp_app, authenticate=header_principal)))
    await client.start_server()
    yield client
    await client.close()
