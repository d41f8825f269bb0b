"""Ctrl-C on `vp-monitor demo` stops it cleanly: no traceback from the decoder workers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ports import free_port

pytestmark = pytest.mark.slow(seconds=15)

FLEET = """
[fleet]
rtsp_port = {rtsp_port}
onvif_port = {onvif_port}

[[site]]
name = "Mairie"
municipality = "92012"
municipality_name = "Boulogne-Billancourt"

[[camera]]
code = "INT-01"
site = "Mairie"
scene = "procedural:1"

[[camera]]
code = "INT-02"
site = "Mairie"
scene = "procedural:2"
"""


def process_group(pgid: int) -> list[int]:
    """Process ids in a process group (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def signed_in_as_demo_admin(port: int, printed: str) -> str:
    """Sign in to the demo's web service with the administrator's printed password."""
    line = next(line for line in printed.splitlines() if "demo-admin" in line)
    password = line.rsplit(" ", 1)[1]
    body = json.dumps({"name": "demo-admin", "password": password}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/session", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["role"]


@pytest.mark.timeout(180)
def test_ctrl_c_on_demo_prints_no_traceback(tmp_path):
    """Ctrl-C ends the demo without a traceback, after its web service signed the
    administrator in with the password it printed."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        FLEET.format(rtsp_port=random.randrange(20000, 30000),
                     onvif_port=random.randrange(30000, 40000))
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("VP_")}
    out, err = (tmp_path / "out.txt").open("w+"), (tmp_path / "err.txt").open("w+")
    # Its own process group, like a shell job: Ctrl-C at a terminal signals the whole group.
    port = free_port("127.0.0.1")
    demo = subprocess.Popen(
        [sys.executable, "-m", "vp_monitor", "demo", "--fleet", str(fleet), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=out, stderr=err, start_new_session=True,
    )  # fmt: skip
    try:
        # The decoder workers exist once the first stream checks ran (main, resource tracker,
        # fork server and two workers at least).
        started = "Ctrl-C"  # the line saying the monitoring runs, in either language
        wait_for(lambda: started in (tmp_path / "out.txt").read_text(), 120, "monitoring")
        wait_for(lambda: len(process_group(demo.pid)) >= 5, 60, "the decoder workers")
        assert signed_in_as_demo_admin(port, (tmp_path / "out.txt").read_text()) == "admin"
        time.sleep(1)
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    stderr = (tmp_path / "err.txt").read_text()
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert '"stopped": true' in (tmp_path / "out.txt").read_text()
    wait_for(lambda: not process_group(demo.pid), 10, "every worker to end")
