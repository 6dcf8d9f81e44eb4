"""One bounded queue in front of generation: llama.cpp serves one question at a time. The :class:`BusyLimit` seam.

Every door (chat, API, OpenAI endpoint, staff console) answers through :meth:`BusyLimit.slot`. As many questions
are answered at once as the generator has slots (one for llama.cpp); up to ``max_waiting`` more wait their turn;
anyone beyond that, or anyone who waited longer than ``wait_s``, gets :class:`QueueFull` and a friendly "busy"
message instead of a timeout.

Two implementations: :class:`GenerationQueue` counts in this process (the embedded default, and any replica with
its own in-process LLM); :class:`rag.web.pggate.SharedGenerationQueue` counts across every replica that shares a
PostgreSQL database and a pool of LLM servers. :func:`make_generation_queue` picks one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from rag.config import Settings, llm_server_urls
from rag.web.database import SqliteDatabase, WebDatabase

log = logging.getLogger(__name__)

BUSY_SV = "Många frågar just nu, försök igen om en stund."
BUSY_EN = "Too many questions right now; try again in a moment."


class QueueFull(Exception):
    """No room in the generation queue (or the wait ran out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BusyLimit(Protocol):
    """Room to generate: ``slot()`` holds one for the body of a with-statement, or raises QueueFull."""

    max_waiting: int
    rejected: int

    @property
    def running(self) -> int: ...

    @property
    def waiting(self) -> int: ...

    def slot(self) -> AbstractContextManager[None]: ...

    def health(self) -> dict[str, Any]:
        """What /api/health shows under "queue"."""
        ...


def make_generation_queue(
    db: WebDatabase,
    settings: Settings,
    *,
    workers: int,
    max_waiting: int = 8,
    wait_s: float = 120.0,
    lease_s: float = 30.0,
) -> BusyLimit:
    """Shared across replicas when their state is in PostgreSQL and their replies come from one pool of LLM
    servers (RAG_GENERATOR=openai); per process otherwise (an in-process LLM serves its own replica only)."""
    if isinstance(db, SqliteDatabase) or settings.generator != "openai":
        return GenerationQueue(max_waiting=max_waiting, wait_s=wait_s, workers=workers)
    from rag.web.pggate import SharedGenerationQueue, llm_pool_key

    return SharedGenerationQueue(
        db,
        pool=llm_pool_key(llm_server_urls(settings.llm_urls)),
        workers=workers,
        max_waiting=max_waiting,
        wait_s=wait_s,
        lease_s=lease_s,
    )


class GenerationQueue:
    def __init__(self, max_waiting: int = 8, wait_s: float = 120.0, workers: int = 1) -> None:
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be 0 or more, got {max_waiting}")
        if workers <= 0:
            raise ValueError(f"workers must be greater than 0, got {workers}")
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self.workers = workers
        self._sem = threading.Semaphore(workers)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self.rejected = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        return self._running

    def health(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "waiting": self.waiting,
            "max_waiting": self.max_waiting,
            "rejected": self.rejected,
            "scope": "process",
        }

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold the generation slot for the body of the with-statement, or raise QueueFull."""
        if self._sem.acquire(blocking=False):
            acquired = True
        else:
            with self._lock:
                if self._waiting >= self.max_waiting:
                    self.rejected += 1
                    raise QueueFull(f"queue full ({self._waiting} waiting)")
                self._waiting += 1
            try:
                acquired = self._sem.acquire(timeout=self.wait_s)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                with self._lock:
                    self.rejected += 1
                raise QueueFull(f"waited {self.wait_s:.0f} s without a free slot")
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._sem.release()
