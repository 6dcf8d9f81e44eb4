"""The busy limit across app replicas: generation slots in PostgreSQL, held under a lease.

When every replica sends its replies to the same pool of LLM servers (``RAG_GENERATOR=openai``), the pool writes as
many replies at once as it has slots (servers × ``RAG_LLM_SLOTS``), whichever replica asks. The table
``rag_generation_slots`` (rag.web.database.WEB_SCHEMA) holds one row per slot of that pool; a question takes a
free row (``FOR UPDATE SKIP LOCKED``: two replicas never take the same one) before it asks the LLM and frees it
when its answer ends. A held row carries a lease that its replica renews every third of ``lease_s`` while the
answer runs; a replica that was killed stops renewing, and its slots come back when their leases run out.

Waiting stays per replica, as with :class:`rag.web.gate.GenerationQueue`: up to ``max_waiting`` questions of this
replica wait (polling for a free row) for at most ``wait_s``; anyone beyond that is told "busy". When PostgreSQL
cannot be asked, the question is told "busy" too (and the error is logged): running more questions than the
servers can take helps no one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rag.db.postgres import Database
from rag.errors import RagError
from rag.web.gate import QueueFull
from rag.web.pgfeedback import web_transaction

log = logging.getLogger(__name__)


def llm_pool_key(urls: list[str]) -> str:
    """Replicas share a limit when they name the same LLM servers (in any order)."""
    return "llm-" + hashlib.sha256("\n".join(sorted(urls)).encode()).hexdigest()[:16]


class SharedGenerationQueue:
    """A generation slot shared by every replica that uses the same database and LLM pool."""

    def __init__(
        self,
        db: Database,
        *,
        pool: str,
        workers: int,
        max_waiting: int = 8,
        wait_s: float = 120.0,
        lease_s: float = 30.0,
        poll_s: float = 0.25,
        replica: str | None = None,
    ) -> None:
        if workers <= 0:
            raise ValueError(f"workers must be greater than 0, got {workers}")
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be 0 or more, got {max_waiting}")
        if lease_s < 1:
            raise ValueError(f"the slot lease must be at least 1 s (RAG_SLOT_LEASE_S), got {lease_s}")
        self.db = db
        self.pool = pool
        self.workers = workers
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.replica = replica or f"{socket.gethostname()}:{os.getpid()}"
        self.rejected = 0
        self._lock = threading.Lock()
        self._waiting = 0
        self._held: set[str] = set()
        self._rows_ready = False
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        """Questions of this replica that hold a slot now."""
        return len(self._held)

    def in_use(self) -> int:
        """Slots of the pool held now by any replica, leases not run out."""
        with web_transaction(self.db) as conn:
            row = conn.execute(
                "SELECT count(*) FROM rag_generation_slots WHERE pool = %s AND slot < %s "
                "AND holder IS NOT NULL AND lease_until >= now()",
                (self.pool, self.workers),
            ).fetchone()
        return int(row[0])

    def health(self) -> dict[str, Any]:
        """This replica's counts, and the pool's slots in use by every replica (None: PostgreSQL did not answer)."""
        try:
            in_use: int | None = self.in_use()
        except RagError as exc:
            log.error("could not count the shared generation slots: %s", exc)
            in_use = None
        return {
            "running": self.running,
            "waiting": self.waiting,
            "max_waiting": self.max_waiting,
            "rejected": self.rejected,
            "scope": "shared",
            "slots": self.workers,
            "in_use_everywhere": in_use,
            "lease_s": self.lease_s,
        }

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the pool's slots for the body of the with-statement, or raise QueueFull."""
        holder = self._acquire()
        try:
            yield
        finally:
            self._release(holder)

    # --- taking and giving back -------------------------------------------------------------------------
    def _acquire(self) -> str:
        holder = f"{self.replica}/{uuid.uuid4().hex[:12]}"
        if self._try(holder):
            return holder
        with self._lock:
            if self._waiting >= self.max_waiting:
                self.rejected += 1
                raise QueueFull(f"queue full ({self._waiting} waiting)")
            self._waiting += 1
        try:
            deadline = time.monotonic() + self.wait_s
            pause = min(0.05, self.poll_s)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    with self._lock:
                        self.rejected += 1
                    raise QueueFull(f"waited {self.wait_s:.0f} s without a free slot")
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, self.poll_s)
                if self._try(holder):
                    return holder
        finally:
            with self._lock:
                self._waiting -= 1

    def _try(self, holder: str) -> bool:
        """Take a free slot (or one whose lease ran out) for holder; False when all are held."""
        try:
            with web_transaction(self.db) as conn:
                if not self._rows_ready:
                    conn.execute(
                        "INSERT INTO rag_generation_slots (pool, slot) SELECT %s, g FROM generate_series(0, %s) g "
                        "ON CONFLICT DO NOTHING",
                        (self.pool, self.workers - 1),
                    )
                got = conn.execute(
                    "WITH free AS (SELECT pool, slot, holder AS old FROM rag_generation_slots "
                    "WHERE pool = %s AND slot < %s AND (holder IS NULL OR lease_until < now()) "
                    "ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "UPDATE rag_generation_slots s SET holder = %s, acquired = now(), "
                    "lease_until = now() + %s * interval '1 second' FROM free "
                    "WHERE s.pool = free.pool AND s.slot = free.slot RETURNING s.slot, free.old",
                    (self.pool, self.workers, holder, self.lease_s),
                ).fetchone()
        except RagError as exc:
            log.error("the shared busy limit cannot be read, so the question is told busy: %s", exc)
            with self._lock:
                self.rejected += 1
            raise QueueFull("the shared busy limit is unavailable") from exc
        self._rows_ready = True
        if got is None:
            return False
        if got[1] is not None:
            log.warning("generation slot %d: the lease of %s ran out; taken over", got[0], got[1])
        with self._lock:
            self._held.add(holder)
        self._start_renewing()
        return True

    def _release(self, holder: str) -> None:
        with self._lock:
            self._held.discard(holder)
        try:
            with web_transaction(self.db) as conn:
                conn.execute(
                    "UPDATE rag_generation_slots SET holder = NULL, acquired = NULL, lease_until = NULL "
                    "WHERE pool = %s AND holder = %s",
                    (self.pool, holder),
                )
        except RagError as exc:  # the lease runs out by itself
            log.error(
                "could not give back a generation slot (its lease of %.0f s frees it): %s", self.lease_s, exc
            )

    # --- leases -----------------------------------------------------------------------------------------
    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._stop.clear()
            self._renewer = threading.Thread(target=self._renew_loop, name="slot-lease", daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            self.renew()

    def renew(self) -> int:
        """Extend the leases of the slots this replica holds; returns how many were renewed."""
        with self._lock:
            held = sorted(self._held)
        if not held:
            return 0
        try:
            with web_transaction(self.db) as conn:
                rows = conn.execute(
                    "UPDATE rag_generation_slots SET lease_until = now() + %s * interval '1 second' "
                    "WHERE pool = %s AND holder = ANY(%s) RETURNING holder",
                    (self.lease_s, self.pool, held),
                ).fetchall()
        except RagError as exc:
            log.error("could not renew the generation slots' leases: %s", exc)
            return 0
        lost = set(held) - {r[0] for r in rows}
        with self._lock:
            lost &= self._held  # an answer that ended meanwhile gave its slot back
        if lost:
            log.warning(
                "%d generation slot(s) of this replica were taken over after their lease ran out", len(lost)
            )
        return len(rows)

    def close(self) -> None:
        """Stop renewing (the app's end); held slots are given back by their answers, or their leases run out."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
            self._renewer = None
