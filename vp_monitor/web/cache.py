"""Short-lived, bounded caches of the request path: who a token or session cookie stands for,
and the encoded answers of the busiest reads (the camera list, the status wall's counts).

At 10,000 cameras and 50 clients each request paid a database trip for its caller and 10-40 ms
of queries for its answer (docs/benchmarks.md, issue 12); both change far less often than
they are asked for.

- Callers (`web.principal_cache_s`): a token revoked, an account changed or a session ended
  elsewhere (the command line, another web node) is honoured within that many seconds; any
  write through this process (a logout, a revocation, an account changed) clears the cache
  at once.
- Reads (`web.read_cache_s`): an answer is at most that many seconds old, plus the time of
  the query computing its successor, during which it is still served (2 by default: a
  check's time, a registry edit on another node); every change event the process's event hub
  reads (camera states, incidents) clears the cache sooner, so a new state is served once its
  event arrives (at once with PostgreSQL's NOTIFY, within 0.5 s with SQLite's polling), and
  so does every write through this process.

Callers asking for what is being computed wait for that one computation instead of each
running the query (50 clients finding an entry expired at the same moment make one trip).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")


@dataclass
class Entry(Generic[Value]):
    expires: float
    answer: asyncio.Future[Value]
    # While `answer` is computed after an expiry: the answer before it, served meanwhile.
    previous: asyncio.Future[Value] | None = None


def _usable(future: asyncio.Future[Value]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class SharedCache(Generic[Value]):
    """At most `size` entries (least recently used dropped first), each kept `seconds`;
    callers asking for one being computed wait for that computation. `seconds` 0 turns it
    off. `clock` is injectable for tests.

    With `serve_expired`, an entry past its time is computed again while its callers keep the
    answer it had: nobody waits for a query the cache merely aged out of (at 50 clients, all
    asking for the same list, every expiry stalled them all for the query's time). An answer
    is then at most `seconds` plus one computation old. `clear()` forgets everything at once,
    so a change this process wrote or heard of is never answered from before it."""

    def __init__(
        self,
        seconds: float,
        size: int,
        clock: Callable[[], float] = time.monotonic,
        serve_expired: bool = False,
    ) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self.serve_expired = serve_expired
        self.entries: OrderedDict[Hashable, Entry[Value]] = OrderedDict()

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[Value]]) -> Value:
        """The value kept for `key`, else `compute()`'s. Not kept: a failure, None (an
        unknown token is looked up again), and a value whose computation was running when the
        cache was cleared (it may predate the change that cleared it)."""
        found = self.entries.get(key)
        if found is not None and found.expires > self.clock():
            self.entries.move_to_end(key)
            if found.previous is not None and not found.answer.done():
                return found.previous.result()
            future = found.answer
        else:
            previous = None
            if found is not None and self.serve_expired and _usable(found.answer):
                previous = found.answer
            future = asyncio.ensure_future(compute())
            if self.seconds > 0:
                self.entries[key] = Entry(self.clock() + self.seconds, future, previous)
                self.entries.move_to_end(key)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
                future.add_done_callback(lambda done: self._settle(key, done))
            if previous is not None:
                return previous.result()
        # shielded: a caller timing out or going away does not cancel the others' answer
        return await asyncio.shield(future)

    def _settle(self, key: Hashable, done: asyncio.Future[Value]) -> None:
        found = self.entries.get(key)
        if found is None or found.answer is not done:
            return  # cleared or replaced meanwhile
        if done.cancelled() or done.exception() is not None or done.result() is None:
            del self.entries[key]
        else:
            found.previous = None

    def clear(self, *_: object) -> None:
        """Forget everything (takes and ignores the event hub's page of events)."""
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)
