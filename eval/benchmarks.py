"""Adapters for external benchmarks nobody on the team wrote (../shared/benchmarks).

* SweFAQ (SuperLim 2): question -> answer retrieval. Per split, the corpus is the split's candidate
  answers (every answer once), each question has one gold answer; nDCG@10 and recall@10 as in the
  Scandinavian Embedding Benchmark / MTEB SweFaqRetrieval.
* SweQUAD-MC: every distinct context becomes a document of a fresh corpus, each question is asked end
  to end through `eval run`; gold-context recall@k and the share of answers holding the gold answer text.

Both read any file of the same format (``--file``), so a held-back split can be scored the same way.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval import metrics
from eval.dataset import Question
from rag.config import ROOT

log = logging.getLogger(__name__)

BENCHMARKS_DIR = Path(os.environ.get("EVAL_BENCHMARKS_DIR", ROOT.parent / "shared" / "benchmarks"))

# Published SweFAQ retrieval nDCG@10 (Scandinavian Embedding Benchmark; older protocol/version, GUIDE.md §1)
PUBLISHED_SWEFAQ_NDCG10 = {
    "multilingual-e5-small": 0.687,
    "multilingual-e5-base": 0.695,
    "multilingual-e5-large": 0.733,
    "multilingual-e5-large-instruct": 0.754,
    "bge-m3": 0.715,
    "KBLab sentence-bert-swedish": 0.733,
    "paraphrase-multilingual-MiniLM-L12-v2": 0.569,
    "all-MiniLM-L6-v2": 0.411,
    "OpenAI text-embedding-3-large": 0.816,
}


class BenchmarkFileError(ValueError):
    pass


# --- SweFAQ ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrievalSet:
    corpus: list[str]
    queries: list[str]
    gold: list[int]  # index into corpus, per query


def load_swefaq(path: Path) -> RetrievalSet:
    """SuperLim-2 SweFAQ JSONL: {question, candidate_answers, label, ...} per line."""
    if not path.is_file():
        raise BenchmarkFileError(f"SweFAQ file not found: {path} (pass --file or set EVAL_BENCHMARKS_DIR)")
    corpus: list[str] = []
    index: dict[str, int] = {}
    queries, gold = [], []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                cands, label, question = row["candidate_answers"], int(row["label"]), row["question"]
                gold_text = cands[label]
            except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
                raise BenchmarkFileError(
                    f"{path}, line {line_no}: expected {{question, candidate_answers, label}} with a valid label "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            for text in cands:
                if text not in index:
                    index[text] = len(corpus)
                    corpus.append(text)
            queries.append(question)
            gold.append(index[gold_text])
    if not queries:
        raise BenchmarkFileError(f"{path} holds no questions")
    return RetrievalSet(corpus, queries, gold)


def rank_dense(embedder: Any, data: RetrievalSet, *, progress: bool = True) -> list[list[int]]:
    from tqdm import tqdm

    bar = tqdm(total=len(data.corpus), desc="Embedding answers", unit="st", disable=not progress, leave=False)
    P = embedder.embed_passages(data.corpus, progress=bar.update)
    bar.close()
    Q = np.vstack(
        [
            embedder.embed_query(q)
            for q in tqdm(data.queries, desc="Queries", disable=not progress, leave=False)
        ]
    )
    sims = Q @ np.asarray(P).T
    return [list(np.argsort(-row, kind="stable")) for row in sims]


def rank_bm25(data: RetrievalSet) -> list[list[int]]:
    from rag.index.lexical import BM25Index
    from rag.text import lexical_tokens

    bm25 = BM25Index([lexical_tokens(t) for t in data.corpus])
    out = []
    for q in data.queries:
        hits = [pos for pos, _ in bm25.search(q, len(data.corpus))]
        rest = [i for i in range(len(data.corpus)) if i not in set(hits)]
        out.append(hits + rest)
    return out


def rank_rrf(rankings: Sequence[list[list[int]]], k: int = 60) -> list[list[int]]:
    """Unweighted reciprocal-rank fusion of several rankings per query (as the service fuses channels)."""
    fused = []
    for per_query in zip(*rankings, strict=True):
        score: dict[int, float] = {}
        for ranking in per_query:
            for r, pos in enumerate(ranking, 1):
                score[pos] = score.get(pos, 0.0) + 1.0 / (k + r)
        fused.append(sorted(score, key=lambda p: (-score[p], p)))
    return fused


def score_rankings(rankings: Sequence[Sequence[int]], gold: Sequence[int]) -> dict[str, float]:
    per: dict[str, list[float]] = {"ndcg@10": [], "recall@10": [], "mrr": [], "hit@1": []}
    for ranking, g in zip(rankings, gold, strict=True):
        ranked = [str(i) for i in ranking]
        gs = {str(g)}
        per["ndcg@10"].append(metrics.ndcg_at_k(ranked, gs, 10))
        per["recall@10"].append(metrics.recall_at_k(ranked, gs, 10))
        per["mrr"].append(metrics.reciprocal_rank(ranked, gs))
        per["hit@1"].append(metrics.hit_at_k(ranked, gs, 1))
    return {k: float(np.mean(v)) for k, v in per.items()}


def swefaq(
    path: Path, *, method: str, embedder: Any = None, rrf_k: int = 60, progress: bool = True
) -> dict[str, Any]:
    data = load_swefaq(path)
    t0 = time.perf_counter()
    if method == "dense":
        rankings = rank_dense(embedder, data, progress=progress)
    elif method == "bm25":
        rankings = rank_bm25(data)
    elif method == "hybrid":
        rankings = rank_rrf([rank_dense(embedder, data, progress=progress), rank_bm25(data)], rrf_k)
    else:
        raise ValueError(f"method must be one of dense, bm25, hybrid; got {method!r}")
    result: dict[str, Any] = {
        "file": str(path),
        "method": method,
        "embedder": getattr(embedder, "model_id", None) if method != "bm25" else None,
        "queries": len(data.queries),
        "corpus": len(data.corpus),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    result.update(score_rankings(rankings, data.gold))
    return result


def render_swefaq(result: dict[str, Any]) -> str:
    lines = [
        f"SweFAQ {Path(result['file']).name}: {result['queries']} questions, corpus of {result['corpus']} answers, "
        f"method {result['method']}" + (f", embedder {result['embedder']}" if result.get("embedder") else ""),
        f"  nDCG@10   {result['ndcg@10']:.3f}",
        f"  recall@10 {result['recall@10']:.3f}",
        f"  MRR       {result['mrr']:.3f}",
        f"  hit@1     {result['hit@1']:.3f}",
        f"  ({result['seconds']} s)",
        "",
        "Published nDCG@10 (Scandinavian Embedding Benchmark, older protocol/version; compare with care):",
    ]
    lines += [f"  {name:<40} {v:.3f}" for name, v in PUBLISHED_SWEFAQ_NDCG10.items()]
    return "\n".join(lines)


# --- SweQUAD-MC -----------------------------------------------------------------------------------


def load_swequad(path: Path) -> tuple[list[str], list[Question]]:
    """Distinct contexts (document texts) and questions whose gold are the context and the answer span."""
    if not path.is_file():
        raise BenchmarkFileError(
            f"SweQUAD-MC file not found: {path} (pass --file or set EVAL_BENCHMARKS_DIR)"
        )
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BenchmarkFileError(
            f'{path}: expected {{"data": [{{context, question, choices}}]}} ({exc})'
        ) from exc
    contexts: list[str] = []
    index: dict[str, int] = {}
    questions: list[Question] = []
    for i, row in enumerate(rows):
        try:
            context, question = row["context"], row["question"]
            correct = [c for c in row["choices"] if c.get("type") == "Correct answer"]
        except (KeyError, TypeError) as exc:
            raise BenchmarkFileError(f"{path}: item {i} lacks context/question/choices ({exc})") from exc
        if not correct:
            log.warning("%s item %d has no correct answer; skipped", path, i)
            continue
        if context not in index:
            index[context] = len(contexts)
            contexts.append(context)
        c = correct[0]
        gold = context[c["start"] : c["end"]] if isinstance(c.get("start"), int) else c["text"]
        alts = list(dict.fromkeys(a for a in (c.get("text"), gold) if a))
        questions.append(
            Question(
                id=f"{path.stem}-{i}",
                question=question,
                answer=c.get("text") or gold,
                must_contain=[alts],
                sources=[context_name(index[context])],
                answerable=True,
                lang="sv",
            )
        )
    return contexts, questions


def context_name(i: int) -> str:
    return f"context-{i:04d}.txt"


def write_corpus(contexts: Sequence[str], corpus_dir: Path) -> None:
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(contexts):
        (corpus_dir / context_name(i)).write_text(text.strip() + "\n", encoding="utf-8")
