"""Short-lived, bounded caches of the request path: who a token or session cookie stands for,
and the encoded answers of the busiest reads (the camera list, the status wall's counts).

At 10,000 cameras and 50 clients each request paid a database trip for its caller and 10-40 ms
of queries for its answer (docs/benchmarks.md, issue 12); both change far less often than
they are asked for.

- Callers (`web.principal_cache_s`): a token revoked, an account changed or a session ended
  elsewhere (the command line, another web node) is honoured within that many seconds; any
  write through this process (a logout, a revocation, an account changed) clears the cache
  at once.
- Reads (`web.read_cache_s`): cleared by every change event the process's event hub reads
  (camera states, incidents: served as soon as the event arrives, 0.5 s at most on SQLite,
  at once with PostgreSQL's NOTIFY) and by every write through this process; what changes
  without an event (a check's time, a registry edit on another node) is at most that many
  seconds old. Callers asking for the same answer while it is computed wait for that one
  computation instead of each running the query.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class TtlCache(Generic[Value]):
    """At most `size` entries (least recently used dropped first), each kept `seconds`.
    `seconds` 0 turns it off. `clock` is injectable for tests."""

    def __init__(
        self, seconds: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self.entries: OrderedDict[Hashable, tuple[float, Value]] = OrderedDict()

    def get(self, key: Hashable) -> Value | None:
        found = self.entries.get(key)
        if found is None:
            return None
        if found[0] <= self.clock():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, value: Value) -> None:
        if self.seconds <= 0:
            return
        self.entries[key] = (self.clock() + self.seconds, value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self, *_: object) -> None:
        """Forget everything (takes and ignores the event hub's page of events)."""
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


class ReadCache(TtlCache["asyncio.Future[bytes]"]):
    """Encoded answers, each computed once however many callers ask for it meanwhile."""

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The answer kept for `key`, else `compute()`'s (kept unless it fails, or the cache is
        cleared while it runs: an answer that may predate a change is not kept)."""
        future = self.get(key)
        if future is None:
            future = asyncio.ensure_future(compute())
            self.put(key, future)
            future.add_done_callback(lambda done: self._forget_failed(key, done))
        # shielded: a caller timing out or going away does not cancel the others' answer
        return await asyncio.shield(future)

    def _forget_failed(self, key: Hashable, done: asyncio.Future[bytes]) -> None:
        if done.cancelled() or done.exception() is not None:
            found = self.entries.get(key)
            if found is not None and found[1] is done:
                del self.entries[key]
