"""Schemathesis over every documented operation of the API, with its default checks (no
server error, responses and content types as documented, status codes documented), stateful
links included: zero failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from live import served
from two_towns import create_accounts

from vp_monitor.web.app import create_app

# SQLite only: what the pages and the schema show does not depend on the database, whose
# queries the other web tests run on both (and CI's time is counted).
pytestmark = [
    pytest.mark.timeout(480),  # about 5 min a caller on a shared 2-core machine
    pytest.mark.slow(seconds=125),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what some operations may also answer


@pytest.mark.parametrize("caller", ["admin", "boulogne"])
def test_schemathesis_finds_no_failure(vp_app, caller, tmp_path):
    """As the administrator (every operation allowed) and as a municipality (scoped), each
    signed in with its API token."""
    token = create_accounts(vp_app)[caller]
    with served(create_app(vp_app)) as base:
        run = subprocess.run(
            [str(ST), "--config-file", str(CONFIG), "run", f"{base}/api/v1/openapi.json",
             "--url", base,
             "-H", f"Authorization: Bearer {token}", "--max-examples", "10", "--seed", "1",
             "--generation-database", "none", "--no-color", "--workers", "1",
             "--request-timeout", "20", "--report-dir", str(tmp_path),
             "--exclude-path", "/api/v1/events"],  # a stream: it never ends
            capture_output=True, text=True, timeout=460, cwd=tmp_path,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
