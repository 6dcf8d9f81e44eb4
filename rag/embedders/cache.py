"""Passage-side vectors of short texts (the units of the passages: sentences, list items …), cached by text.

The answer-sentence scorer compares the question with every unit of the retrieved passages. Embedding
them at question time would cost seconds on two cores, so ingest embeds every unit once and saves the
vectors here (``unit-vectors.npz`` beside the index); a unit the file lacks is embedded when first seen
and kept in memory. The cache is keyed by the text's hash and the embedder's id, so it can never serve a
vector of another text or another model, whatever index is live.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.embedders.base import Embedder, ProgressFn

if TYPE_CHECKING:
    from rag.config import Settings

log = logging.getLogger(__name__)

FILE = "unit-vectors.npz"
MAX_ENTRIES = 500_000


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


class VectorCache:
    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path
        self._vectors: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            if self.path is not None and self.path.is_file():
                try:
                    with np.load(self.path, allow_pickle=False) as data:
                        if str(data["model_id"]) == self.embedder.model_id:
                            self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
                except (OSError, ValueError, KeyError) as exc:
                    log.warning(
                        "unit vector cache %s unreadable (%s); it is rebuilt as units are seen",
                        self.path,
                        exc,
                    )
        return self._vectors

    def __len__(self) -> int:
        return len(self._load())

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors of texts, shape (len(texts), dim); the ones not cached yet are embedded now."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        with self._lock:
            cache = self._load()
            keys = [_key(t) for t in texts]
            missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True) if k not in cache))
            if missing:
                if len(cache) + len(missing) > MAX_ENTRIES:
                    cache.clear()
                fresh = self.embedder.embed_passages([t for _, t in missing])
                cache.update(zip((k for k, _ in missing), fresh, strict=True))
            return np.stack([cache[k] for k in keys])

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The texts (once each) that have no cached vector yet."""
        cache = self._load()
        return list(dict.fromkeys(t for t in texts if _key(t) not in cache))

    def fill(self, texts: Sequence[str], progress: ProgressFn | None = None, *, only: bool = False) -> int:
        """Embed the texts not cached yet (with progress); with only, drop every other entry (the units an
        index no longer has). Returns how many were embedded."""
        todo = self.missing(texts)
        with self._lock:
            cache = self._load()
            if todo:
                cache.update(
                    zip(map(_key, todo), self.embedder.embed_passages(todo, progress=progress), strict=True)
                )
            if only:
                keep = {_key(t) for t in texts}
                for k in [k for k in cache if k not in keep]:
                    del cache[k]
        return len(todo)

    def save(self) -> None:
        """Write the cache atomically (a temporary file renamed over the old one)."""
        if self.path is None:
            return
        with self._lock:
            cache = self._load()
            keys = np.array(list(cache), dtype="U20")
            vectors = (
                np.stack(list(cache.values())) if cache else np.zeros((0, self.embedder.dim), np.float32)
            )
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32), model_id=self.embedder.model_id)
            os.replace(tmp, self.path)


def unit_cache_path(settings: Settings) -> Path:
    """Where the unit vectors of the configured index are kept: beside a files index, or in the data folder
    for an index in PostgreSQL (each replica fills its own copy at ingest or as units are first seen)."""
    if settings.store == "files":
        return settings.index_dir / FILE
    return settings.data_dir / f"{settings.index_name}-{FILE}"
