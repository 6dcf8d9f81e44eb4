"""Dense vector search. FAISS today; a pgvector implementation can take the same interface later."""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError

log = logging.getLogger(__name__)

# Index type by corpus size, from docs/scale.md (scripts/bench_scale.py on a quiet machine: 384-d e5 vectors
# plus noise, one query at a time for the top 30 with 2 threads, recall@10 against exact search; target p95
# <= 30 ms, recall >= 0.95). Exact search (flat inner product) is exact and builds instantly, but its time
# grows with the corpus: p95 10 ms at 100k vectors, 96 ms at 1M (19 ms at 200k and 38 ms at 400k in a separate
# probe). While the other core was busy (other jobs; in service, llama.cpp writing another answer) FAISS's two
# OpenMP threads waited for each other and the same search at 100k took 32-40 ms, so exact search stops at
# 100k, 3x under the target. Above that: IVF-flat with 4·sqrt(n) lists, 128 of them searched per query:
# recall@10 0.993 at 100k and 0.986 at 1M (0.949 with 64 lists, 0.995 with 256), p95 1.1 and 4.0 ms, one
# thread per query (nothing to wait for, busy machine or not). It trains k-means on every rebuild (ingest
# rebuilds on every change): 6 s at 100k, 60 s at 1M. Scalar-quantised flat indexes (SQ8 recall 0.96-0.97,
# fp16 0.998) still scan every vector: 34-36 ms at 1M. HNSW M=32, the type above 200k before, answered in
# 1-2 ms but found only 0.57-0.89 of the exact top 10 at 100k-1M; indexes built with it still load.
EXACT_MAX_VECTORS = 100_000
IVF_LISTS_PER_SQRT = 4  # nlist = 4·sqrt(n)
IVF_TRAIN_PER_LIST = 64  # k-means runs on a sample of 64 vectors per list
IVF_MIN_PER_LIST = 39  # fewer lists for a tiny corpus (tests): k-means wants about 39 vectors per list
IVF_NPROBE = 128  # lists searched per query (all of them for a corpus of under 128 lists)
HNSW_EF_SEARCH = 256  # search depth of an HNSW index built by an older version; never below k


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: 4·sqrt(n), fewer where there would be under 39 vectors per list."""
    return max(1, min(round(IVF_LISTS_PER_SQRT * math.sqrt(n)), n // IVF_MIN_PER_LIST))


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
        else:
            nlist = ivf_lists(n)
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
            index.train(vectors)
            index.nprobe = min(IVF_NPROBE, nlist)
        if n:
            index.add(vectors)
        return cls(index, kind_of(index))

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
        if hnsw is not None:  # built by an older version, above its exact-search limit
            hnsw.efSearch = max(int(hnsw.efSearch), HNSW_EF_SEARCH)
        if isinstance(index, faiss.IndexIVF):  # searched as deep as this version searches
            index.nprobe = max(int(index.nprobe), min(IVF_NPROBE, int(index.nlist)))
        return cls(index, kind_of(index))


def kind_of(index: Any) -> str:
    """The index type as the manifest names it: 'flat-ip', 'ivf1265-flat' (lists) or 'hnsw32' (links)."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        return f"ivf{int(index.nlist)}-flat"
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        return f"hnsw{int(hnsw.nb_neighbors(1))}"
    return "flat-ip"
