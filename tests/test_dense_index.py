"""The dense index picks exact search or HNSW by size, and HNSW finds what exact search finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.index.dense import EXACT_MAX_VECTORS, HNSW_EF_SEARCH, FaissIndex


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres: neighbourhoods like embedded text, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    x = centres[rng.integers(0, 50, n)] + rng.normal(scale=0.6, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_up_to_the_cut_over_then_hnsw() -> None:
    data = clustered(301)
    assert FaissIndex.build(data[:300], exact_max=300).kind == "flat-ip"
    assert FaissIndex.build(data, exact_max=300).kind.startswith("hnsw")
    assert FaissIndex.build(data).kind == "flat-ip"  # the default cut-over is far above a small corpus
    assert EXACT_MAX_VECTORS >= 100_000  # exact search measured fast enough at 100k (docs/retrieval.md)


def test_hnsw_recall_against_exact_search() -> None:
    data, queries = clustered(3000), clustered(100, seed=1)
    exact = FaissIndex.build(data)
    hnsw = FaissIndex.build(data, exact_max=1000)
    assert hnsw.kind.startswith("hnsw")
    recall = np.mean(
        [len({p for p, _ in hnsw.search(q, 10)} & {p for p, _ in exact.search(q, 10)}) / 10 for q in queries]
    )
    assert recall >= 0.95
    top_exact, top_hnsw = exact.search(queries[0], 1)[0], hnsw.search(queries[0], 1)[0]
    assert top_hnsw[1] == pytest.approx(top_exact[1], abs=1e-5)  # scores are cosines either way


def test_save_and_load_keep_kind_and_search_depth(tmp_path: Path) -> None:
    data = clustered(600)
    hnsw = FaissIndex.build(data, exact_max=100)
    hnsw.save(tmp_path / "dense.faiss")
    loaded = FaissIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == hnsw.kind and len(loaded) == 600
    assert loaded._index.hnsw.efSearch == HNSW_EF_SEARCH
    assert loaded.search(data[7], 1)[0][0] == 7


def test_empty_and_corrupt() -> None:
    empty = FaissIndex.build(np.zeros((0, 8), dtype=np.float32))
    assert len(empty) == 0 and empty.search(np.ones(8, dtype=np.float32), 5) == []


def test_corrupt_file_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "dense.faiss"
    bad.write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorruptError):
        FaissIndex.load(bad)
