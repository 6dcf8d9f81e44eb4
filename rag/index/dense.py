"""Dense vector search. FAISS today; a pgvector implementation can take the same interface later."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError

log = logging.getLogger(__name__)

# Index type by corpus size, chosen from the measurements in docs/retrieval.md ("FAISS index type by corpus
# size", scripts/bench_retrieval.py, 384-d, 2 threads): exact search took p50/p95 17/19 ms at 100k vectors
# (1.6/2.0 ms at 10k), grows linearly (~40 ms at 200k), is exact, and builds instantly (ingest rebuilds the
# index on every change). HNSW M=32 answered in about 1 ms but found only 0.57-0.87 of the exact top-10 at
# 100k (efSearch 32-256; 0.98-0.99 at 10k) and took 12 s to build. So: exact up to 200k vectors, HNSW above,
# with the deepest search measured (efSearch 256 still costs ~1 ms).
EXACT_MAX_VECTORS = 200_000
HNSW_M = 32  # links per node (M=16 recalled less at the same speed)
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 256  # search depth; never below the candidates retrieval asks for


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
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            kind = f"hnsw{HNSW_M}"
        if n:
            index.add(vectors)
        return cls(index, kind)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = len(self)
        if n == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        hnsw = getattr(self._index, "hnsw", None)
        if hnsw is not None and hnsw.efSearch < k:  # HNSW finds at most efSearch good neighbours
            import faiss

            params = faiss.SearchParametersHNSW(efSearch=k)  # type: ignore[attr-defined]  # not in the stubs
            scores, ids = self._index.search(q, min(k, n), params=params)
        else:
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
        hnsw = getattr(index, "hnsw", None)
        if hnsw is None:
            return cls(index, "flat-ip")
        hnsw.efSearch = max(int(hnsw.efSearch), HNSW_EF_SEARCH)  # an index built by an older version
        return cls(index, f"hnsw{int(hnsw.nb_neighbors(1))}")
