"""The dense index picks exact search or IVF by size, IVF finds what exact search finds, and every type (HNSW
from older versions too) survives a save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.index.dense import (
    EXACT_MAX_VECTORS,
    HNSW_EF_SEARCH,
    IVF_NPROBE,
    FaissIndex,
    ivf_lists,
)


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres: neighbourhoods like embedded text, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    x = centres[rng.integers(0, 50, n)] + rng.normal(scale=0.6, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def top(index: FaissIndex, queries: np.ndarray, k: int) -> list[list[int]]:
    return [[p for p, _ in index.search(q, k)] for q in queries]


def test_exact_up_to_the_cut_over_then_ivf() -> None:
    data = clustered(401)
    assert FaissIndex.build(data[:400], exact_max=400).kind == "flat-ip"
    assert FaissIndex.build(data, exact_max=400).kind == f"ivf{ivf_lists(401)}-flat"
    assert FaissIndex.build(data).kind == "flat-ip"  # the default cut-over is far above a small corpus
    assert EXACT_MAX_VECTORS >= 100_000  # exact search measured fast enough at 100k (docs/scale.md)


def test_lists_grow_with_the_square_root_and_stay_trainable() -> None:
    assert ivf_lists(1_000_000) == 4000 and ivf_lists(250_000) == 2000
    assert ivf_lists(401) == 10  # a tiny corpus gets about 39 vectors per list, not 4·sqrt(n)
    assert ivf_lists(1) == 1


def test_exact_search_is_exact() -> None:
    data, queries = clustered(500), clustered(20, seed=1)
    index = FaissIndex.build(data)
    want = np.argsort(-(queries @ data.T), axis=1, kind="stable")[:, :10]
    assert top(index, queries, 10) == want.tolist()
    pos, score = index.search(queries[0], 1)[0]
    assert score == pytest.approx(float(queries[0] @ data[pos]), abs=1e-5)


def test_ivf_probing_every_list_equals_exact_search() -> None:
    """On a tiny corpus nprobe covers every list, so IVF must return exactly what exact search returns."""
    data, queries = clustered(600), clustered(20, seed=1)
    ivf = FaissIndex.build(data, exact_max=100)
    assert ivf._index.nprobe == ivf._index.nlist <= IVF_NPROBE
    assert top(ivf, queries, 30) == top(FaissIndex.build(data), queries, 30)


def test_ivf_recall_against_exact_search() -> None:
    data, queries = clustered(10_000, dim=32), clustered(100, dim=32, seed=1)
    exact = FaissIndex.build(data)
    ivf = FaissIndex.build(data, exact_max=1000)
    assert ivf.kind.startswith("ivf") and ivf._index.nprobe < ivf._index.nlist  # approximate here
    recall = np.mean(
        [
            len(set(a) & set(b)) / 10
            for a, b in zip(top(ivf, queries, 10), top(exact, queries, 10), strict=True)
        ]
    )
    assert recall >= 0.95
    top_exact, top_ivf = exact.search(queries[0], 1)[0], ivf.search(queries[0], 1)[0]
    assert top_ivf[1] == pytest.approx(top_exact[1], abs=1e-5)  # scores are cosines either way
    assert len(ivf.search(queries[0], 30)) == 30


@pytest.mark.parametrize("exact_max", [10_000, 100])
def test_save_and_load_keep_kind_and_results(tmp_path: Path, exact_max: int) -> None:
    data, queries = clustered(600), clustered(10, seed=1)
    index = FaissIndex.build(data, exact_max=exact_max)
    index.save(tmp_path / "dense.faiss")
    loaded = FaissIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == index.kind and len(loaded) == 600 and loaded.dim == 64
    assert top(loaded, queries, 30) == top(index, queries, 30)
    assert loaded.search(data[7], 1)[0][0] == 7


def test_an_ivf_index_saved_with_a_shallower_search_loads_with_this_versions_depth(tmp_path: Path) -> None:
    import faiss

    data = clustered(5000, dim=16)
    index = FaissIndex.build(data, exact_max=1000)
    index._index.nprobe = 4
    index.save(tmp_path / "dense.faiss")
    loaded = FaissIndex.load(tmp_path / "dense.faiss")
    assert isinstance(loaded._index, faiss.IndexIVFFlat)
    assert loaded._index.nprobe == min(IVF_NPROBE, loaded._index.nlist)


def test_an_hnsw_index_from_an_older_version_still_loads_and_searches(tmp_path: Path) -> None:
    """Versions before IVF built HNSW (M=32, efSearch 256) above the exact-search limit."""
    import faiss

    data = clustered(600)
    old = faiss.IndexHNSWFlat(64, 32, faiss.METRIC_INNER_PRODUCT)
    old.hnsw.efSearch = 16  # older still: a shallower search
    old.add(data)
    faiss.write_index(old, str(tmp_path / "dense.faiss"))
    loaded = FaissIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == "hnsw32" and len(loaded) == 600
    assert loaded._index.hnsw.efSearch == HNSW_EF_SEARCH
    assert loaded.search(data[7], 1)[0][0] == 7
    assert len(loaded.search(data[7], 300)) == 300  # deeper than efSearch: the search widens to k


def test_empty_and_corrupt() -> None:
    empty = FaissIndex.build(np.zeros((0, 8), dtype=np.float32))
    assert len(empty) == 0 and empty.search(np.ones(8, dtype=np.float32), 5) == []


def test_corrupt_file_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "dense.faiss"
    bad.write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorruptError):
        FaissIndex.load(bad)
