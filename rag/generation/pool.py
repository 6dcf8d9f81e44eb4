"""A pool of LLM servers: least-busy routing over a fixed number of slots per server, and a cool-down for
servers that fail.

Rules (docs/deploy.md, "LLM servers"):

* A request takes a slot on the server with the lowest share of its slots in use that is not cooling down;
  ties go to the server used least recently, so equal servers take turns.
* When every server that is not cooling down has all its slots in use, the request waits for a slot (at most
  ``wait_s``); when every server is cooling down, the one whose cool-down ends first is tried anyway (as
  nginx does with its last server), so one server that restarted is used again at once.
* A server that failed is left out for ``cooldown_s``; then it takes requests again, and a failure starts
  a new cool-down.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rag.errors import GenerationUnavailableError

Clock = Callable[[], float]


@dataclass
class Server:
    url: str
    slots: int
    in_flight: int = 0
    down_until: float = 0.0  # on the pool's clock; 0 when the server is not cooling down
    last_error: str = ""
    failures: int = 0
    served: int = 0
    last_pick: int = 0  # the pool's pick counter when this server was last chosen

    def load(self) -> float:
        return self.in_flight / self.slots


@dataclass(frozen=True)
class ServerStatus:
    """One server as staff see it (GET /api/health)."""

    url: str
    state: str  # "up", "cooling down" or "unused"
    in_flight: int
    slots: int
    served: int
    failures: int
    last_error: str
    retry_in_s: float


class ServerPool:
    """Thread-safe. Construction only stores; no server is contacted here."""

    def __init__(
        self,
        urls: list[str],
        *,
        slots: int = 1,
        cooldown_s: float = 30.0,
        wait_s: float = 120.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a server pool needs at least one URL")
        if slots <= 0:
            raise ValueError(f"slots must be greater than 0, got {slots}")
        self.servers = [Server(url, slots) for url in urls]
        self.cooldown_s = cooldown_s
        self.wait_s = wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._picks = itertools.count(1)

    @property
    def capacity(self) -> int:
        """Requests the pool serves at once: every server's slots."""
        return sum(s.slots for s in self.servers)

    def acquire(self, avoid: Collection[str] = ()) -> Server:
        """Take a slot (see the module's rules); servers in ``avoid`` (already tried by this request) are
        chosen only when no other server fits. Release it with :meth:`release`."""
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while True:
                server = self._choose(avoid)
                if server is not None:
                    server.in_flight += 1
                    server.last_pick = next(self._picks)
                    return server
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise GenerationUnavailableError(
                        f"every server was busy for {self.wait_s:.0f} s ({self.describe()})"
                    )
                self._cond.wait(remaining)

    def _choose(self, avoid: Collection[str]) -> Server | None:
        now = self._clock()
        healthy = [s for s in self.servers if s.down_until <= now]
        free = [s for s in healthy if s.in_flight < s.slots]
        fresh = [s for s in free if s.url not in avoid]

        def order(s: Server) -> tuple[float, int]:
            return (s.load(), s.last_pick)

        if fresh or free:
            return min(fresh or free, key=order)
        if healthy:
            return None  # wait for a slot on a working server rather than try a failed one
        probes = [s for s in self.servers if s.in_flight < s.slots]
        return min(probes, key=lambda s: (s.url in avoid, s.down_until), default=None)

    def release(self, server: Server, *, error: str | None = None) -> None:
        """Give the slot back; with ``error`` the server starts a cool-down."""
        with self._cond:
            server.in_flight -= 1
            if error is None:
                server.served += 1
                server.down_until = 0.0
            else:
                server.failures += 1
                server.last_error = error
                server.down_until = self._clock() + self.cooldown_s
            self._cond.notify_all()

    def status(self) -> list[ServerStatus]:
        with self._cond:
            now = self._clock()
            return [
                ServerStatus(
                    url=s.url,
                    state="cooling down"
                    if s.down_until > now
                    else ("up" if s.served or s.in_flight else "unused"),
                    in_flight=s.in_flight,
                    slots=s.slots,
                    served=s.served,
                    failures=s.failures,
                    last_error=s.last_error,
                    retry_in_s=round(max(0.0, s.down_until - now), 1),
                )
                for s in self.servers
            ]

    def describe(self) -> str:
        """One line for logs and errors: each server's state and last error."""
        parts = []
        for st in self.status():
            text = f"{st.url} {st.state}"
            if st.state == "cooling down":
                text += f" for {st.retry_in_s:.0f} s more"
            if st.last_error:
                text += f" (last error: {st.last_error})"
            parts.append(text)
        return "; ".join(parts)
