"""Retention run by the app itself: at start, then every RAG_PURGE_INTERVAL_MINUTES while it runs.

Deletes conversation log entries and feedback older than RAG_RETENTION_DAYS, expired staff sessions, sign-in failures
past their window and audit entries older than RAG_AUDIT_RETENTION_DAYS. `rag logs purge` does the same on demand.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from rag.web.feedback import FeedbackStore, Purged
from rag.web.staff import StaffDirectory, StaffPurged

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    store: Purged
    staff: StaffPurged


def purge_all(store: FeedbackStore, staff: StaffDirectory, *, days: int | None = None) -> PurgeReport:
    return PurgeReport(store=store.purge_expired(days=days), staff=staff.purge_expired())


class RetentionTimer:
    """A daemon thread that purges every `interval_s` seconds until stopped (started by the app's lifespan)."""

    def __init__(self, store: FeedbackStore, staff: StaffDirectory, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be greater than 0, got {interval_s}")
        self.store = store
        self.staff = staff
        self.interval_s = interval_s
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> PurgeReport | None:
        try:
            report = purge_all(self.store, self.staff)
        except Exception:  # a locked or damaged file must not end the loop; the next run tries again
            log.exception("retention purge failed")
            return None
        self.runs += 1
        return report

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()
