"""End to end with real `vp-monitor serve` processes: one node per SQLite file (a second one is
refused naming the first, a dead one does not block a restart), and SIGTERM against the
simulator (checks under way finish, the other leases are given back, exit code 0)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow(seconds=80)


def cli_json(env: dict[str, str], *args: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "vp_monitor", *args, "--json"], env=env, text=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return value


def serve(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vp_monitor", "serve", "--role", "poller"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(10)


def node_of(env: dict[str, str], pid: int) -> dict | None:
    """The `vp-monitor nodes` record of the serve process `pid`, if listed."""
    return next((n for n in cli_json(env, "nodes") if n["pid"] == pid), None)


def listed(env: dict[str, str], process: subprocess.Popen) -> dict | None:
    """The node record of a running serve process; fails at once if the process ended."""
    assert process.poll() is None, f"serve exited with code {process.returncode}"
    return node_of(env, process.pid)


def node_env(tmp_path, extra: str = "") -> dict[str, str]:
    config = tmp_path / "vp.toml"
    config.write_text(f"""
database_url = "sqlite:///{tmp_path / "vp.db"}"
secret_key_file = "{tmp_path / "secret.key"}"
[monitor]
heartbeat_s = 0.5
node_stale_s = 2
{extra}
""")
    env = {**os.environ, "VP_CONFIG": str(config), "VP_ACTOR": "e2e"}
    env.pop("VP_SECRET_KEY", None)
    env.pop("VP_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "vp_monitor", "db", "upgrade"], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    return env


@pytest.mark.timeout(240)
def test_a_second_node_on_one_sqlite_file_is_refused_and_a_dead_one_does_not_block(tmp_path):
    """Serve A runs; serve B on the same file exits 2 naming A's host, pid and start time and
    writes nothing; A killed with SIGKILL, serve C starts, A shows stale; C stops on SIGTERM
    with exit code 0 and its row gone."""
    env = node_env(tmp_path)
    log = (tmp_path / "serve.log").open("w")
    first = third = None
    try:
        first = serve(env, log)
        node_a = wait_for(lambda: listed(env, first), 90, "node A's row")
        assert node_a["status"] == "live" and node_a["role"] == "poller"
        second = subprocess.run(
            [sys.executable, "-m", "vp_monitor", "serve", "--role", "poller"], env=env,
            text=True, capture_output=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        error = second.stderr.strip()
        assert error.startswith("erreur : un autre nœud fonctionne déjà sur"), error
        assert f"pid {first.pid}" in error and f"l'hôte {socket.gethostname()}" in error
        assert f"depuis {node_a['started_at'][:10]}" in error and "Traceback" not in error
        assert [n["pid"] for n in cli_json(env, "nodes")] == [first.pid]  # B wrote nothing

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        third = serve(env, log)
        wait_for(lambda: listed(env, third), 90, "node C's row")
        wait_for(lambda: node_of(env, first.pid)["status"] == "stale", 30, "A shown stale")
        assert third.poll() is None, "the dead node's row blocked the restart"
        third.send_signal(signal.SIGTERM)
        assert third.wait(60) == 0
        assert node_of(env, third.pid) is None  # a node that stopped cleanly is not listed
        assert node_of(env, first.pid)["status"] == "stale"
    finally:
        stop(first)
        stop(third)
        log.close()


def leases(database: str) -> tuple[int, int]:
    """(leases held, checks finished) in the schedule."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection:
        held, finished = connection.execute(
            "SELECT count(lease_owner), count(last_finished_at) FROM check_schedule"
        ).fetchone()
        return held, finished


@pytest.mark.timeout(300)
def test_sigterm_finishes_checks_under_way_gives_back_the_rest_and_exits_0(tmp_path):
    """Against the simulator, one worker for a backlog of checks: on SIGTERM the check under way
    finishes, every other lease is given back (none left in the database), the node row is
    deleted, and serve exits 0."""
    env = node_env(
        tmp_path,
        """concurrency = 1
stop_wait_s = 30
planner_tick_s = 0.5
[monitor.intervals]
reachability = 3
stream = 3
inventory = 3
[probes.stream]
timeout_s = 8
window_s = 1.5
""",
    )
    rtsp_port, onvif_port = random.randrange(20000, 30000), random.randrange(30000, 40000)
    csv_path = tmp_path / "fleet.csv"
    sim_log = (tmp_path / "sim.log").open("w")
    sim = subprocess.Popen(
        [sys.executable, "-m", "vp_monitor", "sim", "--cameras", "4", "--rtsp-port",
         str(rtsp_port), "--onvif-port", str(onvif_port), "--discovery-port", "0",
         "--write-csv", str(csv_path)],
        env=env, stdout=sim_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    monitor = None
    database = str(tmp_path / "vp.db")
    try:
        wait_for(csv_path.exists, 60, "the simulator's registry CSV")
        for args in (
            ["municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt"],
            ["camera", "import", str(csv_path)],
        ):
            done = subprocess.run([sys.executable, "-m", "vp_monitor", *args], env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, done.stderr
        monitor = serve(env, log)
        # One worker, twelve checks due within 3 s: a check runs and others wait, leased.
        wait_for(lambda: leases(database)[1] >= 2 and leases(database)[0] >= 2, 120,
                 "checks finished and a backlog leased")  # fmt: skip
        monitor.send_signal(signal.SIGTERM)
        assert monitor.wait(90) == 0
        log.flush()
        output = log_path.read_text()
        assert leases(database)[0] == 0, f"leases left after SIGTERM:\n{output}"
        assert "checks under way finished, 0 cancelled" in output, output
        with contextlib.closing(sqlite3.connect(database)) as connection:
            assert connection.execute("SELECT count(*) FROM node").fetchone() == (0,)
    finally:
        stop(monitor)
        sim.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            sim.wait(20)
        stop(sim)
        sim_log.close()
        log.close()
