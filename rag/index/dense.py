"""Dense vector search. FAISS today; a pgvector implementation can take the same interface later."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError

log = logging.getLogger(__name__)

EXACT_MAX_VECTORS = 50_000  # exact inner-product search below this size; HNSW above


class VectorIndex(ABC):
    """Positions 0..n-1 line up with the chunk store's order."""

    @abstractmethod
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(position, cosine) pairs, best first."""

    @abstractmethod
    def __len__(self) -> int: ...


class FaissIndex(VectorIndex):
    def __init__(self, index: Any, kind: str) -> None:
        self._index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, *, exact_max: int = EXACT_MAX_VECTORS) -> FaissIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape if vectors.size else (0, vectors.shape[1] if vectors.ndim == 2 else 1)
        index: Any
        if n <= exact_max:
            index = faiss.IndexFlatIP(dim)
            kind = "flat-ip"
        else:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 64
            kind = "hnsw32"
        if n:
            index.add(vectors)
        return cls(index, kind)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = len(self)
        if n == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(q, min(k, n))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        import faiss

        try:
            index = faiss.read_index(str(path))
        except Exception as exc:  # faiss raises RuntimeError with C++ text
            raise IndexCorruptError(
                str(path), f"FAISS could not read it ({str(exc).splitlines()[0][:120]})"
            ) from exc
        kind = "hnsw32" if "HNSW" in type(index).__name__ else "flat-ip"
        return cls(index, kind)
