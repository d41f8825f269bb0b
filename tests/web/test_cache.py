"""The request path's caches (web/cache.py): who a token stands for, and the camera list and
status counts, on a real server over a real database: a token revoked elsewhere is refused
once the bound has passed, a state change is served once its event arrives, and the caches
keep their bounds."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update
from two_towns import create_accounts, load_two_towns

from vp_monitor.accounts import service
from vp_monitor.config import Settings
from vp_monitor.db import utcnow
from vp_monitor.events.record import CAMERA_STATE, record_event
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.registry.models import Camera
from vp_monitor.service.app import App
from vp_monitor.web.app import create_app
from vp_monitor.web.cache import SharedCache

DOWN = "/api/v1/cameras?state=down"


@pytest.fixture
async def served(database_url, secret_key):
    """A signed-in server whose caches keep callers 0.5 s and answers 60 s (so that only an
    event can make a new state show within a test)."""
    settings = Settings(database_url=database_url,
                        web={"principal_cache_s": 0.5, "read_cache_s": 60})  # fmt: skip
    app = App.from_settings(settings, actor="fixture")
    load_two_towns(app)
    tokens = create_accounts(app)
    client = TestClient(TestServer(create_app(app)))
    await client.start_server()
    yield app, client, tokens
    await client.close()
    app.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def down_codes(client: TestClient, token: str) -> list[str]:
    response = await client.get(DOWN, headers=bearer(token))
    assert response.status == 200
    return sorted(item["code"] for item in (await response.json())["items"])


async def test_a_token_revoked_elsewhere_is_refused_once_the_bound_has_passed(served):
    app, client, tokens = served
    headers = bearer(tokens["operator"])
    assert (await client.get("/api/v1/status", headers=headers)).status == 200
    with app.registry(actor="cli") as registry:  # as `vp-monitor token revoke` would
        service.revoke_token(registry, "olga.op", "tests")
    # Within the bound the caller is the one remembered (at most 0.5 s after the revocation).
    started = time.monotonic()
    while (await client.get("/api/v1/status", headers=headers)).status == 200:
        assert time.monotonic() - started < 0.5 + 0.5, "still accepted past the bound"
        await asyncio.sleep(0.05)
    assert (await client.get(DOWN, headers=headers)).status == 401


async def test_a_state_change_is_served_once_its_event_arrives(served):
    app, client, tokens = served
    token = tokens["operator"]
    assert await down_codes(client, token) == ["BB-001", "VE-001"]
    with app.registry(actor="monitor") as registry:  # the poller, in another process
        session = registry.session
        camera = session.query(Camera).filter_by(code="BB-002").one()
        session.execute(update(CameraStatus).where(CameraStatus.camera_id == camera.id)
                        .values(state="down"))  # fmt: skip
    # Without an event the answer kept is served: the cache is in use.
    await asyncio.sleep(1.0)  # two of SQLite's event polls
    assert await down_codes(client, token) == ["BB-001", "VE-001"]
    with app.registry(actor="monitor") as registry:
        record_event(registry.session, CAMERA_STATE, at=utcnow(), camera_id=camera.id,
                     camera="BB-002", state="down")  # fmt: skip
    started = time.monotonic()
    while await down_codes(client, token) != ["BB-001", "BB-002", "VE-001"]:
        assert time.monotonic() - started < 3, "the event did not clear the cache"
        await asyncio.sleep(0.05)


async def test_each_scope_has_its_own_answer(served):
    _, client, tokens = served
    assert await down_codes(client, tokens["operator"]) == ["BB-001", "VE-001"]
    assert await down_codes(client, tokens["boulogne"]) == ["BB-001"]
    assert await down_codes(client, tokens["versailles"]) == ["VE-001"]


async def test_a_write_through_the_web_is_seen_at_once(served):
    _, client, tokens = served
    headers = bearer(tokens["technician"])
    response = await client.get("/api/v1/status", headers=headers)
    before = (await response.json())["fleet"]["total"]
    body = {"code": "BB-003", "name": "Quai", "municipality": "92012",
            "site": "Mairie de Boulogne", "onvif_host": "192.0.2.3"}  # fmt: skip
    created = await client.post("/api/v1/cameras", json=body, headers=headers)
    assert created.status == 201, await created.text()
    response = await client.get("/api/v1/status", headers=headers)
    assert (await response.json())["fleet"]["total"] == before + 1


# -- the cache itself ------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting(values: list[str]):
    async def compute() -> str:
        values.append("computed")
        await asyncio.sleep(0.01)
        return f"answer {len(values)}"

    return compute


async def test_entries_expire_and_the_least_recent_is_dropped_past_the_bound():
    clock, computed = Clock(), []
    cache = SharedCache(seconds=2, size=2, clock=clock)
    assert await cache.get_or_compute("a", counting(computed)) == "answer 1"
    assert await cache.get_or_compute("a", counting(computed)) == "answer 1"
    clock.now = 2.0  # expired
    assert await cache.get_or_compute("a", counting(computed)) == "answer 2"
    await cache.get_or_compute("b", counting(computed))
    await cache.get_or_compute("a", counting(computed))  # a is now the most recent
    await cache.get_or_compute("c", counting(computed))  # b dropped
    assert len(cache) == 2 and set(cache.entries) == {"a", "c"}
    assert await cache.get_or_compute("b", counting(computed)) == "answer 5"


async def test_callers_share_one_computation_and_a_clear_meanwhile_is_not_undone():
    computed = []
    cache = SharedCache(seconds=60, size=10)
    answers = await asyncio.gather(*(cache.get_or_compute("k", counting(computed))
                                     for _ in range(50)))  # fmt: skip
    assert computed == ["computed"] and set(answers) == {"answer 1"}
    cache.clear()
    running = asyncio.ensure_future(cache.get_or_compute("k", counting(computed)))
    await asyncio.sleep(0)
    cache.clear()  # an event arrives while the query runs: its answer may predate it
    assert await running == "answer 2"
    assert await cache.get_or_compute("k", counting(computed)) == "answer 3"


async def test_failures_and_nothing_found_are_not_kept():
    cache = SharedCache(seconds=60, size=10)

    async def fails() -> str:
        raise RuntimeError("database gone")

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError):
        await cache.get_or_compute("k", fails)
    assert await cache.get_or_compute("n", nothing) is None
    assert len(cache) == 0
    off = SharedCache(seconds=0, size=10)
    computed = []
    await off.get_or_compute("k", counting(computed))
    await off.get_or_compute("k", counting(computed))
    assert len(computed) == 2 and len(off) == 0


async def test_an_expired_answer_is_served_while_its_successor_is_computed():
    """With serve_expired, callers arriving after an expiry get the answer of before at once
    (one computation starts, the others do not wait for it) and the new one once it is ready;
    a clear is never answered from before it; a failed computation leaves no answer."""
    clock, computed = Clock(), []
    cache = SharedCache(seconds=2, size=10, clock=clock, serve_expired=True)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        computed.append("slow")
        return f"answer {len(computed)}"

    assert await cache.get_or_compute("k", counting(computed)) == "answer 1"
    clock.now = 2.0  # expired: one computation starts, every caller meanwhile has answer 1
    answers = [await cache.get_or_compute("k", slow) for _ in range(5)]
    assert answers == ["answer 1"] * 5
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get_or_compute("k", counting(computed)) == "answer 2"
    assert computed == ["computed", "slow"]  # one computation for the five callers
    cache.clear()  # a change: nobody gets an answer from before it
    assert await cache.get_or_compute("k", counting(computed)) == "answer 3"

    async def fails() -> str:
        raise RuntimeError("database gone")

    clock.now = 4.0
    assert await cache.get_or_compute("k", fails) == "answer 3"  # the old one, meanwhile
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):  # then the failure is not kept, nor the old answer
        await cache.get_or_compute("k", fails)
